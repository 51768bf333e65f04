// The learning-rate schedules against transformers' get_{constant,linear,cosine}_schedule_with_warmup
// (LambdaLR factors of optimizer step 0, 1, …): the expected rates below are what transformers 5.17
// gives with lr 1, 2 warm-up steps and 10 steps in all.
import { describe, expect, it } from "vitest";

import { optimizerOptionsSchema } from "../../src/training/options.js";
import { learningRate } from "../../src/training/schedule.js";

const rates = (schedule: "constant" | "linear" | "cosine", warmupSteps = 2) => {
  const opt = optimizerOptionsSchema.parse({ lr: 1, schedule, warmupSteps, totalSteps: 10 });
  return Array.from({ length: 11 }, (_, s) => learningRate(opt, s));
};

describe("learning-rate schedules", () => {
  it("constant with warm-up", () => {
    expect(rates("constant")).toEqual([0, 0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it("linear decay to 0 after warm-up", () => {
    const want = [0, 0.5, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0];
    rates("linear").forEach((r, i) => expect(r).toBeCloseTo(want[i]!, 12));
  });

  it("cosine decay to 0 after warm-up", () => {
    const want = [
      0, 0.5, 1, 0.9619397662556434, 0.8535533905932737, 0.6913417161825449, 0.5, 0.3086582838174551,
      0.14644660940672627, 0.038060233744356645, 0,
    ];
    rates("cosine").forEach((r, i) => expect(r).toBeCloseTo(want[i]!, 12));
  });

  it("no warm-up starts at the peak", () => {
    expect(rates("linear", 0).slice(0, 2)).toEqual([1, 0.9]);
  });
});
