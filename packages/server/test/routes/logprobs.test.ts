// The wire shapes of per-token log-probabilities, on the fixture's real tokenizer: token bytes
// that add up to the text, vLLM-style names for pieces of a character, completions offsets.
import { beforeAll, describe, expect, it } from "vitest";

import { WenxinTokenizer } from "@wenxin/engine";

import {
  chatLogprobEntries,
  CompletionLogprobsBuilder,
  joinCompletionLogprobs,
  TokenSpelling,
} from "../../src/routes/logprobs.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

let tokenizer: WenxinTokenizer;
let spelling: TokenSpelling;

beforeAll(async () => {
  tokenizer = await WenxinTokenizer.fromDirectory(DENSE_DIR);
  spelling = TokenSpelling.of(tokenizer);
});

const TEXTS = [
  "Hello, world!",
  "春天的早晨，阳光明媚。",
  "mixed 文字 and émojis 🙂 too",
  "  two spaces\nand a newline",
];

describe("TokenSpelling", () => {
  it("gives each token the bytes it adds: concatenated, they are the text's UTF-8", () => {
    for (const text of TEXTS) {
      const ids = tokenizer.encode(text);
      const bytes = ids.flatMap((id) => Array.from(spelling.spell(id).bytes));
      expect(Buffer.from(bytes).toString("utf8")).toBe(tokenizer.decode(ids));
      expect(Buffer.from(bytes).toString("utf8")).toBe(text);
    }
  });

  it("names byte-fallback pieces of a character as bytes:, whole characters as themselves", () => {
    const e4 = tokenizer.tokenToId("<0xE4>")!;
    expect(spelling.entry(e4, -1.5)).toEqual({ token: "bytes:\\xe4", logprob: -1.5, bytes: [0xe4] });
    const a = tokenizer.tokenToId("<0x41>")!;
    expect(spelling.entry(a, -2)).toEqual({ token: "A", logprob: -2, bytes: [0x41] });
    // a piece with SentencePiece's space mark reads as a space
    const spaced = tokenizer.encode(" world").find((id) => tokenizer.idToToken(id).startsWith("▁"))!;
    expect(spelling.spell(spaced).token).toBe(tokenizer.idToToken(spaced).replaceAll("▁", " "));
  });

  it("spells special tokens as written and flags them", () => {
    const eos = tokenizer.tokenToId("</s>")!;
    expect(spelling.spell(eos)).toMatchObject({ token: "</s>", special: true });
  });
});

describe("chat entries", () => {
  it("carry the token, its logprob and bytes, and the alternatives in the engine's order", () => {
    const [a, b] = tokenizer.encode("Hello");
    const entries = chatLogprobEntries(spelling, [
      {
        tokenId: a!,
        logprob: -0.25,
        top: [
          { tokenId: b!, logprob: -0.1 },
          { tokenId: a!, logprob: -0.25 },
        ],
      },
    ]);
    expect(entries).toEqual([
      {
        token: spelling.spell(a!).token,
        logprob: -0.25,
        bytes: Array.from(spelling.spell(a!).bytes),
        top_logprobs: [
          { token: spelling.spell(b!).token, logprob: -0.1, bytes: Array.from(spelling.spell(b!).bytes) },
          { token: spelling.spell(a!).token, logprob: -0.25, bytes: Array.from(spelling.spell(a!).bytes) },
        ],
      },
    ]);
  });
});

describe("completions logprobs", () => {
  it("puts every token at its character offset in the text, across events", () => {
    for (const text of TEXTS) {
      const ids = tokenizer.encode(text);
      const builder = new CompletionLogprobsBuilder(spelling, 0);
      // split the ids over several "engine events", as streaming does
      const parts = [ids.slice(0, 2), ids.slice(2, 5), ids.slice(5)].map((chunk) =>
        builder.add(chunk.map((tokenId) => ({ tokenId, logprob: -1, top: [] }))),
      );
      const lp = joinCompletionLogprobs(parts);
      expect(lp.tokens).toHaveLength(ids.length);
      for (let i = 0; i < ids.length; i++) {
        expect(lp.text_offset[i]).toBeGreaterThanOrEqual(i > 0 ? lp.text_offset[i - 1]! : 0);
        const token = lp.tokens[i]!;
        if (!token.startsWith("bytes:"))
          expect(text.slice(lp.text_offset[i], lp.text_offset[i]! + token.length)).toBe(token);
      }
    }
  });

  it("lists the top alternatives and always the chosen token", () => {
    const [a, b, c] = tokenizer.encode("Hello world");
    const builder = new CompletionLogprobsBuilder(spelling, 1);
    const lp = builder.add([
      {
        tokenId: a!,
        logprob: -3,
        top: [
          { tokenId: b!, logprob: -0.5 },
          { tokenId: c!, logprob: -1 },
        ],
      },
    ]);
    expect(lp.token_logprobs).toEqual([-3]);
    expect(lp.top_logprobs).toEqual([{ [spelling.spell(b!).token]: -0.5, [spelling.spell(a!).token]: -3 }]);
  });
});
