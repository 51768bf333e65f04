// WenxinEmbeddings on the tiny dense model: dimensions, normalisation, batching, and the pooling
// checked against transformers' final hidden states (the golden fixture).
import { readFileSync } from "node:fs";
import path from "node:path";

import { Engine } from "@wenxin/engine";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { WenxinEmbeddings } from "../src/index.js";
import { DENSE_DIR, FIXTURES, maxAbsDiff, readSafetensors } from "../../../test/helpers/fixtures.js";

const goldenDir = path.join(FIXTURES, "golden", "tiny-ernie45-dense");
const spec = JSON.parse(readFileSync(path.join(goldenDir, "embeddings.json"), "utf8")) as { texts: { text: string }[] };
const states = readSafetensors(path.join(goldenDir, "embeddings.safetensors"));

/** The documented pooling: mean over tokens, then L2 normalisation. */
function meanPooledNormalised(data: Float32Array, tokens: number, hidden: number): number[] {
  const out = new Array<number>(hidden).fill(0);
  for (let t = 0; t < tokens; t++) for (let j = 0; j < hidden; j++) out[j]! += data[t * hidden + j]! / tokens;
  const norm = Math.hypot(...out);
  return out.map((v) => v / norm);
}

const texts = [
  "文心大模型支持混合专家架构。",
  "ERNIE 4.5 is a mixture-of-experts model.",
  "The cat sat on the mat.",
  "你好",
  "Vector stores need embeddings.",
];

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512 });
});
afterAll(() => engine?.close());

describe("WenxinEmbeddings", () => {
  it("gives unit vectors of the model's hidden size, mean-pooled over the final hidden states", async () => {
    const embeddings = new WenxinEmbeddings({ model: engine });
    const vectors = await embeddings.embedDocuments(spec.texts.map((t) => t.text));
    expect(vectors).toHaveLength(spec.texts.length);
    vectors.forEach((v, i) => {
      expect(v).toHaveLength(engine.config.hparams.hiddenSize);
      expect(Math.hypot(...v)).toBeCloseTo(1, 5);
      const ref = states.get(`text${i}.last_hidden_state`)!;
      expect(
        maxAbsDiff(
          Float32Array.from(v),
          Float32Array.from(meanPooledNormalised(ref.data, ref.shape[0]!, ref.shape[1]!)),
        ),
      ).toBeLessThan(1e-4);
    });
  });

  it("batches documents through the engine: any batch size gives the same vectors", async () => {
    const spy = vi.spyOn(engine, "embed");
    try {
      const whole = await new WenxinEmbeddings({ model: engine }).embedDocuments(texts);
      expect(spy).toHaveBeenCalledTimes(1);
      spy.mockClear();
      const inTwos = await new WenxinEmbeddings({ model: engine, batchSize: 2 }).embedDocuments(texts);
      expect(spy.mock.calls.map((c) => c[0])).toEqual([texts.slice(0, 2), texts.slice(2, 4), texts.slice(4)]);
      inTwos.forEach((v, i) =>
        expect(maxAbsDiff(Float32Array.from(v), Float32Array.from(whole[i]!))).toBeLessThan(1e-5),
      );
    } finally {
      spy.mockRestore();
    }
  });

  it("embeds a query as it embeds the same text as a document", async () => {
    const embeddings = new WenxinEmbeddings({ model: engine });
    const [doc] = await embeddings.embedDocuments([texts[1]!]);
    expect(await embeddings.embedQuery(texts[1]!)).toEqual(doc);
    expect(await embeddings.embedDocuments([])).toEqual([]);
  });

  it("reports bad input with typed errors", async () => {
    const embeddings = new WenxinEmbeddings({ model: engine });
    await expect(embeddings.embedQuery("")).rejects.toMatchObject({ code: "ERR_WENXIN_INVALID_ARGUMENT" });
    await expect(embeddings.embedDocuments([1 as never])).rejects.toMatchObject({
      code: "ERR_WENXIN_INVALID_ARGUMENT",
    });
    expect(() => new WenxinEmbeddings({ model: engine, batchSize: 0 })).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_INVALID_ARGUMENT" }),
    );
  });
});
