// A client that goes away cancels its generation through the engine's signal path, and drain
// lets the requests in flight finish while refusing new ones.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import type { Engine, GenerateOptions, GenerationStream } from "@wenxin/engine";

import { DENSE_DIR } from "../../../test/helpers/fixtures.js";
import {
  loadDense,
  MODEL_ID,
  postJson,
  readRest,
  readUntil,
  sseData,
  startPost,
  startTestServer,
} from "./helpers/test_server.js";

const chat = (extra: Record<string, unknown> = {}) => ({
  model: MODEL_ID,
  messages: [{ role: "user", content: "讲个故事" }],
  temperature: 0,
  ...extra,
});

/** Records the engine streams the server starts, and the signals it gives them. */
function watchGenerate(engine: Engine) {
  const started: { stream: GenerationStream; signal: AbortSignal }[] = [];
  const original = engine.generate.bind(engine);
  const spy = vi.spyOn(engine, "generate").mockImplementation((options: GenerateOptions) => {
    const stream = original(options);
    started.push({ stream, signal: options.signal! });
    return stream;
  });
  return { started, restore: () => spy.mockRestore() };
}

describe("client disconnects", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await loadDense();
  });
  afterAll(async () => {
    await engine?.close();
  });

  it("mid-stream: the engine stream is aborted and the slot freed; the server keeps serving", async () => {
    const srv = await startTestServer(engine, { maxConcurrency: 1 });
    const watch = watchGenerate(engine);
    try {
      const client = new AbortController();
      const res = await startPost(
        `${srv.baseURL}/chat/completions`,
        chat({ stream: true, max_tokens: 3000 }),
        client.signal,
      );
      await readUntil(res, (t) => t.split("\n\n").length > 4); // a few tokens are out
      expect(watch.started).toHaveLength(1);
      const { stream, signal } = watch.started[0]!;
      expect(stream.done).toBe(false);
      client.abort();
      await expect.poll(() => signal.aborted, { timeout: 5000 }).toBe(true);
      expect(stream.done).toBe(true); // failed by the engine's abort path, long before 3000 tokens
      await expect.poll(() => srv.server.model.inFlightCount).toBe(0);
      expect(srv.server.model.admission.running).toBe(0);
      const next = await postJson(`${srv.baseURL}/chat/completions`, chat({ max_tokens: 3 }));
      expect(next.status).toBe(200);
      expect(next.json.usage.completion_tokens).toBe(3);
    } finally {
      watch.restore();
      await srv.stop();
    }
  });

  it("before the answer of a plain request: the generation is aborted too", async () => {
    const srv = await startTestServer(engine);
    const watch = watchGenerate(engine);
    try {
      const client = new AbortController();
      const pending = startPost(`${srv.baseURL}/chat/completions`, chat({ max_tokens: 3000 }), client.signal).catch(
        () => undefined,
      );
      await expect.poll(() => watch.started.length, { timeout: 5000 }).toBe(1);
      client.abort();
      await pending;
      await expect.poll(() => watch.started[0]!.signal.aborted, { timeout: 5000 }).toBe(true);
      await expect.poll(() => srv.server.model.inFlightCount).toBe(0);
    } finally {
      watch.restore();
      await srv.stop();
    }
  });

  it("while queued: the request leaves the queue and never reaches the engine", async () => {
    const srv = await startTestServer(engine, { maxConcurrency: 1 });
    const watch = watchGenerate(engine);
    const first = new AbortController();
    try {
      const res = await startPost(
        `${srv.baseURL}/chat/completions`,
        chat({ stream: true, max_tokens: 3000 }),
        first.signal,
      );
      await readUntil(res, (t) => t.includes("data:"));
      const second = new AbortController();
      const queued = startPost(`${srv.baseURL}/chat/completions`, chat({ max_tokens: 3 }), second.signal).catch(
        () => undefined,
      );
      await expect.poll(() => srv.server.model.admission.queued, { timeout: 5000 }).toBe(1);
      second.abort();
      await queued;
      await expect.poll(() => srv.server.model.admission.queued, { timeout: 5000 }).toBe(0);
      first.abort();
      await expect.poll(() => srv.server.model.inFlightCount, { timeout: 5000 }).toBe(0);
      expect(watch.started).toHaveLength(1);
    } finally {
      first.abort();
      watch.restore();
      await srv.stop();
    }
  });
});

describe("drain", () => {
  it("finishes the requests in flight, refuses new ones with 503, then closes the listener and the engine it loaded", async () => {
    const srv = await startTestServer(DENSE_DIR, { loadOptions: { threads: 1 } });
    const engine = await srv.server.model.ready;
    const res = await startPost(`${srv.baseURL}/chat/completions`, chat({ stream: true, max_tokens: 400 }));
    const state = await readUntil(res, (t) => t.includes("data:"));
    const drained = srv.server.drain();

    const refused = await postJson(`${srv.baseURL}/chat/completions`, chat({ max_tokens: 2 }));
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe("server_draining");
    expect(refused.headers.get("connection")).toBe("close");
    const health = await fetch(`${srv.url}/health`);
    expect(health.status).toBe(503);
    expect((await health.json()).status).toBe("draining");

    const frames = sseData(await readRest(state));
    expect(frames.at(-1)).toBe("[DONE]");
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f));
    expect(chunks.at(-1).choices[0].finish_reason).toBe("length");
    await drained;
    await expect(fetch(`${srv.url}/health`)).rejects.toThrow();
    expect(() => engine.generate({ prompt: "x" })).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_ENGINE_CLOSED" }),
    );
  });

  it("aborts what is still running at the deadline, telling streaming clients why", async () => {
    const engine = await loadDense();
    const srv = await startTestServer(engine, { drainTimeoutMs: 300 });
    try {
      const res = await startPost(`${srv.baseURL}/chat/completions`, chat({ stream: true, max_tokens: 3000 }));
      const state = await readUntil(res, (t) => t.includes("data:"));
      const started = performance.now();
      await srv.server.drain();
      expect(performance.now() - started).toBeLessThan(5000);
      const frames = sseData(await readRest(state));
      expect(frames.at(-1)).toBe("[DONE]");
      expect(JSON.parse(frames.at(-2)!).error).toMatchObject({
        code: "server_draining",
        type: "service_unavailable_error",
      });
      // The engine was the caller's: it still serves.
      expect((await engine.generate({ prompt: "x", maxNewTokens: 2 }).result()).completionTokens).toBe(2);
    } finally {
      await engine.close();
    }
  });
});
