// Non-finite logits have a defined meaning in the sampler (native/include/wenxin/sampling.h): NaN
// is a removed token (-inf) and +inf the largest finite value, so no NaN reaches a comparison
// (top-k's selection, top-p's sort, the argmax) and every softmax has a finite maximum.
import { describe, expect, it } from "vitest";

import { nativeAddon } from "../../src/native/binding.js";
import type { NativeSamplingParams } from "../../src/native/addon_types.js";

const BASE: NativeSamplingParams = {
  greedy: false,
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  seed: 0,
};
const MAX = 3.4028234663852886e38; // FLT_MAX

function processed(logits: number[], params: Partial<NativeSamplingParams>, history: number[] = []): number[] {
  return [
    ...nativeAddon().applyLogitsProcessors(Float32Array.from(logits), Int32Array.from(history), {
      ...BASE,
      ...params,
    }),
  ];
}

describe("non-finite logits", () => {
  it("greedy: NaN becomes -inf, +inf the largest finite value, the rest is unchanged", () => {
    expect(processed([NaN, 1, Infinity, -2, NaN], { greedy: true })).toEqual([-Infinity, 1, MAX, -2, -Infinity]);
  });

  it("top-k keeps the k largest finite values; NaN never counts as one of them", () => {
    expect(processed([NaN, 3, NaN, 1, 2, NaN], { topK: 2 })).toEqual([
      -Infinity,
      3,
      -Infinity,
      -Infinity,
      2,
      -Infinity,
    ]);
  });

  it("top-p and min-p see NaN as removed and +inf as certain", () => {
    expect(processed([NaN, 0, Infinity, 0], { topP: 0.5 })).toEqual([-Infinity, -Infinity, MAX, -Infinity]);
    expect(processed([NaN, 2, 2, NaN], { topP: 0.9 })).toEqual([-Infinity, 2, 2, -Infinity]);
    expect(processed([NaN, 5, 0, NaN], { minP: 0.5 })).toEqual([-Infinity, 5, -Infinity, -Infinity]);
  });

  it("a temperature small enough to overflow keeps the order of the best token", () => {
    const out = processed([1e30, -1e30, 5, NaN], { temperature: 1e-20, topK: 1 });
    expect(out).toEqual([MAX, -Infinity, -Infinity, -Infinity]);
  });
});
