// engine.embed() as ordinary scheduled work: its inputs run in chunks beside running generations
// (which keep streaming tokens), an AbortSignal or close() ends it at the next step and frees its
// KV blocks, and one request's tokens over all inputs are bounded (maxEmbeddingTokens).
import { afterEach, describe, expect, it } from "vitest";

import { Engine, WenxinError } from "../../src/index.js";
import { DENSE_DIR, maxAbsDiff } from "../../../../test/helpers/fixtures.js";

/** `count` different texts of about `words` words each. */
function texts(count: number, words: number): string[] {
  const vocab = ["river", "mountain", "cloud", "lantern", "harbor", "garden", "bridge", "meadow", "signal", "stone"];
  return Array.from({ length: count }, (_, i) =>
    Array.from({ length: words }, (_, j) => vocab[(i * 7 + j * 3 + ((i * j) % 5)) % vocab.length]).join(" "),
  );
}

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

const GEN = { prompt: "Once upon a time", maxNewTokens: 40, temperature: 0, stopTokenIds: [] };

describe("embeddings as scheduled work", () => {
  it("a large request interleaves with a running generation, whose tokens keep arriving", async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512, maxBatchTokens: 32 });
    const inputs = texts(24, 40);
    const solo = (await engine.generate(GEN).result()).tokenIds;
    const soloVectors = await engine.embed(inputs.slice(0, 3));

    const arrivals: number[] = [];
    const stream = engine.generate(GEN);
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next(); // the generation is decoding before the embeddings arrive
    expect(first.done).toBe(false);
    const embedStart = performance.now();
    let embedEnd = Infinity;
    const embedding = engine.embed(inputs).then((v) => {
      embedEnd = performance.now();
      return v;
    });
    const ids: number[] = [...(first.value?.type === "token" ? first.value.tokenIds : [])];
    for (let r = await iterator.next(); !r.done; r = await iterator.next())
      if (r.value.type === "token") {
        arrivals.push(performance.now());
        ids.push(...r.value.tokenIds);
      }
    const vectors = await embedding;

    expect(ids).toEqual(solo); // unchanged by the company
    const during = arrivals.filter((t) => t > embedStart && t < embedEnd).length;
    // ~1000 embedding tokens at 32 per step take dozens of steps, each with a decode token; run as
    // one job between two steps (before), the generation received nothing meanwhile.
    expect(during).toBeGreaterThanOrEqual(10);
    expect(vectors).toHaveLength(inputs.length);
    for (let i = 0; i < 3; i++) expect(maxAbsDiff(vectors[i]!, soloVectors[i]!)).toBeLessThan(1e-5);
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0 });
  });

  it("an AbortSignal ends it at the next step and frees its KV blocks", async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512, maxBatchTokens: 32 });
    const controller = new AbortController();
    const embedding = engine.embed(texts(64, 80), { signal: controller.signal });
    while (engine.stats().running === 0) await new Promise((r) => setTimeout(r, 5));
    const stepsAtAbort = engine.stats().steps;
    controller.abort();
    await expect(embedding).rejects.toMatchObject({ code: "ERR_WENXIN_ABORTED" });
    for (let i = 0; i < 200 && engine.stats().running + engine.stats().waiting > 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    const s = engine.stats();
    expect(s).toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0 });
    expect(s.steps - stepsAtAbort).toBeLessThan(20); // ~5000 tokens were left: far more steps than that
    // The engine goes on serving.
    expect((await engine.embed(["after"]))[0]).toHaveLength(engine.config.hparams.hiddenSize);
  });

  it("closing the engine ends it at once with ENGINE_CLOSED", async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512, maxBatchTokens: 32 });
    const embedding = engine.embed(texts(64, 80));
    while (engine.stats().running === 0) await new Promise((r) => setTimeout(r, 5));
    const started = performance.now();
    await engine.close();
    await expect(embedding).rejects.toMatchObject({ code: "ERR_WENXIN_ENGINE_CLOSED" });
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it("refuses a request with more tokens over its inputs than maxEmbeddingTokens", async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 1, maxContext: 512, maxEmbeddingTokens: 100 });
    const err = await engine.embed(texts(4, 40)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WenxinError);
    expect(err).toMatchObject({
      code: "ERR_WENXIN_INVALID_ARGUMENT",
      message: expect.stringMatching(/more than maxEmbeddingTokens 100/),
    });
    expect(await engine.embed(texts(1, 20))).toHaveLength(1);
  });
});
