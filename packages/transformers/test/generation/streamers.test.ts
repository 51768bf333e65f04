// TextStreamer hands out text as transformers.js' does (src/generation/streamers.js there): whole
// words (up to the last space), every CJK character as it comes, a line at its break, the prompt at
// once, and the rest at end(). The tokenizer is a table of pieces, so the expected pieces follow
// from those rules alone.
import { describe, expect, it } from "vitest";

import { TextStreamer } from "../../src/generation/streamers.js";
import type { PreTrainedTokenizer } from "../../src/tokenization/tokenization_utils.js";

const PIECES = ["Hello", " wor", "ld", " and", "\n", "你", "好", " more", "<s>"];
const SPECIAL = 8;
const tokenizer = {
  decode: (ids: readonly bigint[], options: { skip_special_tokens?: boolean } = {}) =>
    ids
      .map(Number)
      .filter((id) => !(options.skip_special_tokens && id === SPECIAL))
      .map((id) => PIECES[id])
      .join(""),
} as unknown as PreTrainedTokenizer;

function run(steps: number[][], options = {}): string[] {
  const out: string[] = [];
  const streamer = new TextStreamer(tokenizer, { callback_function: (t) => out.push(t), ...options });
  for (const ids of steps) streamer.put([ids.map(BigInt)]);
  streamer.end();
  return out;
}

describe("TextStreamer", () => {
  it("prints the prompt at once, then words once the next space shows they are whole", () => {
    expect(run([[0], [1], [2], [3], [7]])).toEqual(["Hello", " ", "world ", "and ", "more"]);
  });

  it("flushes a line at its break and prints CJK characters one by one", () => {
    expect(run([[0], [1], [4], [5], [6], [1]], { skip_prompt: true })).toEqual([" ", "wor\n", "你", "好", " ", "wor"]);
  });

  it("leaves special tokens out by default, keeps them with skip_special_tokens: false", () => {
    expect(run([[0], [8], [1]], { skip_prompt: true }).join("")).toBe(" wor");
    expect(run([[0], [8], [1], [3]], { skip_prompt: true, skip_special_tokens: false }).join("")).toBe("<s> wor and");
  });

  it("passes each put's ids to token_callback_function, the prompt's unless skipped", () => {
    const seen: bigint[][] = [];
    run([[0, 1], [2]], { skip_prompt: true, token_callback_function: (ids: bigint[]) => seen.push(ids) });
    expect(seen).toEqual([[2n]]);
  });

  it("is ready for another generate() after end()", () => {
    const out: string[] = [];
    const streamer = new TextStreamer(tokenizer, { skip_prompt: true, callback_function: (t) => out.push(t) });
    for (const round of [0, 1]) {
      streamer.put([[0n]]);
      streamer.put([[BigInt(1 + round)]]);
      streamer.end();
    }
    expect(out).toEqual([" ", "wor", "ld"]);
  });
});
