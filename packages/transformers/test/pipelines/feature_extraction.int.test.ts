// pipeline("feature-extraction"): final-norm hidden states against the golden embeddings fixture
// and the engine's own embed().
import { readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "@wenxin/engine";

import { pipeline, type FeatureExtractionPipeline } from "../../src/index.js";
import { DENSE_DIR, FIXTURES, maxAbsDiff, readSafetensors } from "../../../../test/helpers/fixtures.js";

const GOLDEN = path.join(FIXTURES, "golden", "tiny-ernie45-dense");
const cases: { text: string; input_ids: number[] }[] = JSON.parse(
  readFileSync(path.join(GOLDEN, "embeddings.json"), "utf8"),
).texts;
const hidden = readSafetensors(path.join(GOLDEN, "embeddings.safetensors"));

let extractor: FeatureExtractionPipeline;
beforeAll(async () => {
  extractor = await pipeline("feature-extraction", DENSE_DIR, { engine_options: { threads: 2, maxContext: 512 } });
});
afterAll(() => extractor?.dispose());

/** The golden final-norm hidden states of text i: [tokens × 128]. */
function goldenStates(i: number): Float32Array {
  return hidden.get(`text${i}.last_hidden_state`)!.data;
}

describe("feature-extraction", () => {
  it("pooling none gives transformers' per-token hidden states, zero-padded to the longest text", async () => {
    const out = await extractor(cases.map((c) => c.text));
    const width = Math.max(...cases.map((c) => c.input_ids.length));
    expect(out.dims).toEqual([3, width, 128]);
    cases.forEach((c, i) => {
      const states = goldenStates(i);
      expect(states.length).toBe(c.input_ids.length * 128);
      expect(maxAbsDiff(out.data, states, i * width * 128, 0)).toBeLessThan(1e-3);
      expect(
        maxAbsDiff(
          out.data,
          new Float32Array((width - c.input_ids.length) * 128),
          (i * width + c.input_ids.length) * 128,
          0,
        ),
      ).toBe(0);
    });
  });

  it("mean + normalize is the engine's embed(); other poolings pick tokens of the hidden states", async () => {
    const texts = cases.map((c) => c.text);
    const mean = await extractor(texts, { pooling: "mean", normalize: true });
    const engine = (extractor.model as { engine: Engine }).engine;
    const embedded = await engine.embed(texts);
    expect(mean.dims).toEqual([3, 128]);
    embedded.forEach((v, i) => expect(maxAbsDiff(mean.data, v, i * 128, 0)).toBeLessThan(1e-6));

    const states = goldenStates(0);
    const n = cases[0]!.input_ids.length;
    const first = await extractor(texts[0]!, { pooling: "cls" });
    expect(maxAbsDiff(first.data, states.subarray(0, 128))).toBeLessThan(1e-3);
    const last = await extractor(texts[0]!, { pooling: "last_token" });
    expect(maxAbsDiff(last.data, states.subarray((n - 1) * 128, n * 128))).toBeLessThan(1e-3);
    const unnormalized = await extractor(texts[0]!, { pooling: "mean" });
    const norm = Math.hypot(...unnormalized.data);
    expect(
      maxAbsDiff(
        unnormalized.data.map((x) => x / norm),
        mean.data.subarray(0, 128),
      ),
    ).toBeLessThan(1e-5);
    expect(first.tolist()).toEqual([Array.from(first.data)]);
  });

  it("rejects empty input and unknown options", async () => {
    await expect(extractor([])).rejects.toMatchObject({ code: "ERR_WENXIN_INVALID_ARGUMENT" });
    await expect(extractor("x", { pooling: "max" } as never)).rejects.toMatchObject({
      code: "ERR_WENXIN_INVALID_ARGUMENT",
    });
  });
});
