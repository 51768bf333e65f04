// ChatTokenDecoder: ids → text that keeps the chat markup tokens and drops other special tokens.
import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { ChatOutputParser } from "../../src/chat/output_parser.js";
import { CHAT_MARKUP_TOKENS, ChatTokenDecoder } from "../../src/chat/output_decoder.js";
import { WenxinTokenizer } from "../../src/tokenizer/tokenizer.js";

const DENSE = fileURLToPath(new URL("../../../../test/fixtures/ernie45/tiny-ernie45-dense/", import.meta.url));
const tokenizer = await WenxinTokenizer.fromDirectory(path.resolve(DENSE));

describe("ChatTokenDecoder", () => {
  it("knows every markup token of the fixture vocabulary as one special id", () => {
    for (const t of CHAT_MARKUP_TOKENS) {
      const id = tokenizer.tokenToId(t)!;
      expect(tokenizer.isSpecial(id)).toBe(true);
      expect(tokenizer.encode(t)).toEqual([id]);
    }
  });

  it("keeps the markup and drops end-of-turn tokens, one id at a time", () => {
    const output = '想一想\n</think>\n\n<tool_call>\n{"name": "查询", "arguments": {"城市": "北京"}}\n</tool_call>';
    const ids = tokenizer.encode(`${output}<|end_of_sentence|></s>`);
    const decoder = new ChatTokenDecoder(tokenizer);
    let text = "";
    for (const id of ids) text += decoder.push([id]);
    text += decoder.flush();
    expect(text).toBe(output);
    // A plain decode would lose the markers the parser needs.
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).not.toContain("<tool_call>");

    const parser = new ChatOutputParser({ startInReasoning: true });
    parser.push(text);
    parser.finish();
    expect(parser.result()).toMatchObject({
      reasoning: "想一想",
      toolCalls: [{ name: "查询", arguments: { 城市: "北京" } }],
    });
  });
});
