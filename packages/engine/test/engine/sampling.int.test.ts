// The sampler's logits processors against transformers' LogitsProcessorList outputs.
import { readFileSync } from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { type SamplingOptions } from "../../src/index.js";
import { applyLogitsProcessors } from "../../src/generation/logits_processors.js";
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
    expect(() => applyLogitsProcessors(input, [], { topP: 1.5 })).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_INVALID_ARGUMENT" }),
    );
  });
});

describe("top-k over a full-size vocabulary with ties", () => {
  // Values on a coarse grid, so the k-th largest is one of many equal logits (all of which stay).
  const V = 103_424;
  const logits = Float32Array.from(
    { length: V },
    (_, i) => Math.round(((Math.sin(i * 78.233) * 43758.5453) % 1) * 64) / 16,
  );

  it.each([1, 50, 256, 257, 1000])("keeps every logit at least the %i-th largest", (k) => {
    const kth = [...logits].sort((a, b) => b - a)[k - 1]!;
    const out = applyLogitsProcessors(logits, [], { topK: k, doSample: true });
    const wrong = out.findIndex((v, i) => v !== (logits[i]! >= kth ? logits[i] : -Infinity));
    expect(wrong, `index ${wrong}`).toBe(-1);
    const kept = out.filter((v) => v !== -Infinity).length;
    expect(kept).toBeGreaterThanOrEqual(k);
  });
});

describe("top-p over a full-size flat vocabulary", () => {
  /** transformers' rule, written plainly: keep the most probable tokens (ties by id) until the mass reaches p. */
  function keptByReference(logits: Float32Array, p: number): Set<number> {
    const mx = Math.max(...logits);
    const prob = Array.from(logits, (v) => Math.exp(v - mx));
    const z = prob.reduce((a, b) => a + b, 0);
    const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
    const kept = new Set<number>();
    let cum = 0;
    for (const i of order) {
      kept.add(i);
      cum += prob[i]! / z;
      if (cum >= p) break;
    }
    return kept;
  }

  it.each([0.5, 0.8, 0.95])("keeps exactly the reference set at top_p %s (with tied logits)", (p) => {
    const V = 103_424;
    // Flat, with many exact ties (values on a coarse grid), so the cut falls inside a run of equal logits.
    const logits = Float32Array.from(
      { length: V },
      (_, i) => Math.round(((Math.sin(i * 12.9898) * 43758.5453) % 1) * 64) / 32,
    );
    const out = applyLogitsProcessors(logits, [], { topP: p, doSample: true });
    const kept = new Set<number>();
    out.forEach((v, i) => {
      if (v !== -Infinity) kept.add(i);
    });
    const ref = keptByReference(logits, p);
    expect(kept.size).toBe(ref.size);
    expect([...kept].every((i) => ref.has(i))).toBe(true);
    expect(kept.size).toBeGreaterThan(V * p * 0.3); // a flat distribution keeps a large head
  });
});
