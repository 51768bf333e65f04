// engine.embed(): mean-pooled, L2-normalised final-norm hidden states, against transformers' states.
import { readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine } from "../../src/index.js";
import { DENSE_DIR, FIXTURES, maxAbsDiff, readSafetensors } from "../../../../test/helpers/fixtures.js";

const dir = path.join(FIXTURES, "golden", "tiny-ernie45-dense");
const spec = JSON.parse(readFileSync(path.join(dir, "embeddings.json"), "utf8")) as {
  texts: { text: string; input_ids: number[] }[];
};
const states = readSafetensors(path.join(dir, "embeddings.safetensors"));

function meanPooledNormalised(data: Float32Array, tokens: number, hidden: number): Float32Array {
  const out = new Float64Array(hidden);
  for (let t = 0; t < tokens; t++) for (let j = 0; j < hidden; j++) out[j]! += data[t * hidden + j]! / tokens;
  const norm = Math.hypot(...out);
  return Float32Array.from(out, (v) => v / norm);
}

describe("embeddings", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2 });
  });
  afterAll(() => engine?.close());

  it("tokenizes the texts as the reference did", () => {
    for (const t of spec.texts) expect(engine.tokenizer.encode(t.text)).toEqual(t.input_ids);
  });

  it("equals the mean-pooled golden hidden states", async () => {
    const got = await engine.embed(spec.texts.map((t) => t.text));
    expect(got).toHaveLength(spec.texts.length);
    spec.texts.forEach((t, i) => {
      const ref = states.get(`text${i}.last_hidden_state`)!;
      const expected = meanPooledNormalised(ref.data, ref.shape[0]!, ref.shape[1]!);
      expect(maxAbsDiff(got[i]!, expected)).toBeLessThan(1e-4);
      expect(Math.hypot(...got[i]!)).toBeCloseTo(1, 5);
    });
  });

  it("gives different vectors for different texts", async () => {
    const [a, b] = await engine.embed(["The cat sat on the mat.", "文心大模型支持混合专家架构。"]);
    expect(maxAbsDiff(a!, b!)).toBeGreaterThan(1e-2);
  });
});
