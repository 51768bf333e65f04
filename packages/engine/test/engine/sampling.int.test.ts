// The sampler's logits processors against transformers' LogitsProcessorList outputs.
import { readFileSync } from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { applyLogitsProcessors, type SamplingOptions } from "../../src/index.js";
import { FIXTURES, readSafetensors } from "../../../../test/helpers/fixtures.js";

const dir = path.join(FIXTURES, "golden", "sampling");
const spec = JSON.parse(readFileSync(path.join(dir, "sampling.json"), "utf8")) as {
  input_ids: number[];
  configs: Record<string, { processors: string[]; kept: number }>;
};
const tensors = readSafetensors(path.join(dir, "sampling.safetensors"));
const input = tensors.get("input.logits")!.data;

// Each golden config name spells its settings; map them to our options.
const OPTIONS: Record<string, SamplingOptions> = {
  "temperature_0.7": { doSample: true, temperature: 0.7 },
  top_k_50: { doSample: true, topK: 50 },
  "top_p_0.9": { doSample: true, topP: 0.9 },
  "min_p_0.05": { doSample: true, minP: 0.05 },
  "repetition_penalty_1.3": { doSample: true, repetitionPenalty: 1.3 },
  "combined_rep1.1_t0.8_k40_p0.95": { doSample: true, repetitionPenalty: 1.1, temperature: 0.8, topK: 40, topP: 0.95 },
};

describe("logits processors", () => {
  it("covers every golden configuration", () => {
    expect(Object.keys(OPTIONS).sort()).toEqual(Object.keys(spec.configs).sort());
  });

  it.each(Object.keys(spec.configs))("%s: same kept set and processed values", (name) => {
    const expected = tensors.get(`${name}.scores`)!.data;
    const got = applyLogitsProcessors(input, spec.input_ids, OPTIONS[name]!);
    let kept = 0;
    for (let i = 0; i < expected.length; i++) {
      const e = expected[i]!;
      if (e === -Infinity) {
        expect(got[i], `index ${i} should be removed`).toBe(-Infinity);
      } else {
        kept++;
        expect(Math.abs(got[i]! - e), `index ${i}`).toBeLessThan(1e-5);
      }
    }
    expect(kept).toBe(spec.configs[name]!.kept);
  });

  it("leaves the input untouched", () => {
    const copy = Float32Array.from(input);
    applyLogitsProcessors(input, spec.input_ids, OPTIONS["combined_rep1.1_t0.8_k40_p0.95"]!);
    expect(input).toEqual(copy);
  });

  it("rejects invalid settings with a typed error", () => {
    expect(() => applyLogitsProcessors(input, [], { topP: 1.5 })).toThrow(expect.objectContaining({ code: "ERR_WENXIN_INVALID_ARGUMENT" }));
  });
});
