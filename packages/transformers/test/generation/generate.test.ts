// How generate() reads its arguments and resolves options against the GenerationConfig (no engine needed).
import { describe, expect, it } from "vitest";

import { GenerationConfig } from "../../src/index.js";
import { generateOptionsSchema, resolveEngineOptions, splitGenerateArgs } from "../../src/generation/generate.js";

const resolve = (row: number[], options: Record<string, unknown>, gc = new GenerationConfig(), i = 0) =>
  resolveEngineOptions(row, generateOptionsSchema.parse(options), gc, i);

describe("splitGenerateArgs", () => {
  it("accepts ids, a batch, tokenizer output and transformers.js' single object", () => {
    expect(splitGenerateArgs([1, 2], { max_new_tokens: 3 })).toEqual({
      rows: [[1, 2]],
      options: { max_new_tokens: 3 },
    });
    expect(splitGenerateArgs([[1], [2, 3]], undefined).rows).toEqual([[1], [2, 3]]);
    expect(splitGenerateArgs({ input_ids: [1, 2], attention_mask: [1, 1] }, {}).rows).toEqual([[1, 2]]);
    expect(splitGenerateArgs({ input_ids: [5, 6], max_new_tokens: 4 } as never, undefined)).toEqual({
      rows: [[5, 6]],
      options: { max_new_tokens: 4 },
    });
  });

  it("drops positions the attention mask marks as padding", () => {
    const split = splitGenerateArgs(
      {
        input_ids: [
          [0, 0, 7, 8],
          [9, 10, 11, 0],
        ],
        attention_mask: [
          [0, 0, 1, 1],
          [1, 1, 1, 0],
        ],
      },
      {},
    );
    expect(split.rows).toEqual([
      [7, 8],
      [9, 10, 11],
    ]);
  });

  it("rejects inputs that are not ids, and masks of another shape", () => {
    expect(() => splitGenerateArgs("hello" as never, {})).toThrow(/expects token ids/);
    expect(() => splitGenerateArgs({ input_ids: [[1, 2]], attention_mask: [[1]] }, {})).toThrow(/shape of input_ids/);
    expect(() => splitGenerateArgs([], {})).toThrow(/input_ids must be non-empty token ids/);
  });
});

describe("resolveEngineOptions", () => {
  it("explicit options win over the generation config, which wins over transformers' defaults", () => {
    const gc = new GenerationConfig({ do_sample: true, temperature: 0.8, top_p: 0.8, eos_token_id: 2 });
    expect(resolve([1, 2, 3], { max_new_tokens: 5 }, gc)).toEqual({
      inputIds: [1, 2, 3],
      maxNewTokens: 5,
      doSample: true,
      temperature: 0.8,
      topK: 50,
      topP: 0.8,
      minP: 0,
      repetitionPenalty: 1,
      stopTokenIds: [2],
      stop: undefined,
      seed: undefined,
    });
    const explicit = resolve(
      [1],
      {
        max_new_tokens: 5,
        do_sample: false,
        temperature: 0.3,
        top_k: 0,
        top_p: 0.5,
        min_p: 0.1,
        repetition_penalty: 1.2,
        eos_token_id: [7, 9],
        seed: 4,
        stop_strings: "\n",
      },
      gc,
      2,
    );
    expect(explicit).toMatchObject({
      doSample: false,
      temperature: 0.3,
      topK: 0,
      topP: 0.5,
      minP: 0.1,
      repetitionPenalty: 1.2,
      stopTokenIds: [7, 9],
      seed: 6,
      stop: ["\n"],
    });
  });

  it("uses max_length (prompt + new, default 20) when max_new_tokens is not set anywhere", () => {
    expect(resolve([1, 2, 3], {}).maxNewTokens).toBe(17);
    expect(resolve([1, 2, 3], { max_length: 10 }).maxNewTokens).toBe(7);
    expect(resolve([1, 2, 3], {}, new GenerationConfig({ max_new_tokens: 64 })).maxNewTokens).toBe(64);
    expect(resolve([1, 2, 3], { max_length: 10 }, new GenerationConfig({ max_new_tokens: 64 })).maxNewTokens).toBe(7);
    expect(() => resolve(new Array(20).fill(1), {})).toThrow(/already reaches max_length 20; set max_new_tokens/);
  });

  it("takes a generation_config option in place of the model's", () => {
    expect(
      resolve([1], { generation_config: new GenerationConfig({ max_new_tokens: 3, temperature: 0.1 }) }),
    ).toMatchObject({ maxNewTokens: 3, temperature: 0.1 });
  });

  it("rejects unknown and out-of-range options by name", () => {
    expect(() => generateOptionsSchema.parse({ maxNewTokens: 3 })).toThrow();
    expect(generateOptionsSchema.safeParse({ top_p: 0 }).success).toBe(false);
    expect(generateOptionsSchema.safeParse({ streamer: {} }).success).toBe(false);
  });
});
