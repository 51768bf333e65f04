// An embeddings request is ordinary engine work: when drain's deadline passes it is aborted like a
// generation (the engine cancels it at its next step), so drain never waits for a large batch.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine } from "@wenxin/engine";

import { DENSE_DIR } from "../../../test/helpers/fixtures.js";
import { MODEL_ID, startPost, startTestServer } from "./helpers/test_server.js";

describe("drain with an embeddings request in flight", () => {
  let engine: Engine;
  beforeAll(async () => {
    // Small steps and a high per-request limit: this request alone would take minutes.
    engine = await Engine.load(DENSE_DIR, { threads: 1, maxBatchTokens: 32, maxEmbeddingTokens: 1_000_000 });
  });
  afterAll(() => engine.close());

  it("does not wait past its timeout", async () => {
    const srv = await startTestServer(engine, { drainTimeoutMs: 300, maxEmbeddingTokens: 1_000_000 });
    const words = ["river", "mountain", "cloud", "lantern", "harbor", "garden", "bridge", "meadow"];
    // ~160k tokens: run as one job (before), drain waited for all of it.
    const input = Array.from({ length: 512 }, (_, i) =>
      Array.from({ length: 100 }, (_, j) => words[(i + j * 3) % words.length]).join(" "),
    );
    const response = startPost(`${srv.baseURL}/embeddings`, { model: MODEL_ID, input });
    for (let i = 0; i < 6000 && engine.stats().running === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(engine.stats().running).toBeGreaterThan(0);
    const started = performance.now();
    await srv.server.drain();
    expect(performance.now() - started).toBeLessThan(5000);
    const res = await response;
    expect(res.status).toBe(503);
    expect((await res.json()).error).toMatchObject({ code: "server_draining" });
    // The engine was the caller's: its work was cancelled, and it still serves.
    for (let i = 0; i < 100 && engine.stats().running + engine.stats().waiting > 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0 });
    expect(await engine.embed(["still here"])).toHaveLength(1);
  });
});
