// A client that stops reading a stream, over a real socket, is disconnected after the stream idle
// timeout and its work freed (admission slots, engine sequences, KV blocks); /health answers
// throughout. A client that pauses for less than the timeout gets its whole answer.
//
// Loopback sockets take ~4 MB before a writer blocks, so the request asks for an answer far
// larger than that: 16 choices with 20 alternatives per token (~1.5 kB per token and choice).
import { describe, expect, it } from "vitest";

import { type HealthSample, probeHealth } from "./helpers/health_probe.js";
import { connectWithoutReading, rawRequest } from "./helpers/raw_http.js";
import { MODEL_ID, postJson, startTestServer, useDenseServer } from "./helpers/test_server.js";

const IDLE_MS = 600;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ctx = useDenseServer({ streamIdleTimeoutMs: IDLE_MS });

const bigStream = (maxTokens: number) =>
  JSON.stringify({
    model: MODEL_ID,
    messages: [{ role: "user", content: "hello" }],
    max_tokens: maxTokens,
    temperature: 1,
    seed: 1,
    n: 16,
    logprobs: true,
    top_logprobs: 20,
    stream: true,
  });

async function idleTimeouts(): Promise<number> {
  const text = await (await fetch(`${ctx.srv.url}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith("wenxin_http_request_errors_total{") && l.includes("stream_idle_timeout"));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("--stream-idle-timeout", () => {
  it("disconnects a client that reads nothing, and frees its work", async () => {
    const before = ctx.engine.stats().generatedTokens;
    const socket = await connectWithoutReading(
      ctx.srv.url,
      rawRequest("POST", "/v1/chat/completions", { body: bigStream(600) }),
    );
    try {
      // It ran, then its writes backed up.
      await expect.poll(() => ctx.engine.stats().generatedTokens - before, { timeout: 20_000 }).toBeGreaterThan(0);
      const started = Date.now();
      const health: HealthSample[] = [];
      await expect
        .poll(
          async () => {
            const sample = await probeHealth(ctx.srv.url);
            expect(sample.status).toBe(200);
            health.push(sample);
            return { timeouts: await idleTimeouts(), inFlight: ctx.srv.server.model.inFlightCount };
          },
          { timeout: 30_000, interval: 100 },
        )
        .toEqual({ timeouts: 1, inFlight: 0 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS / 2);
      // /health answered within 1 s of the event loop's own time (the wall time less the time its
      // thread waited for a CPU that other processes held: see helpers/health_probe.ts), and no
      // probe waited past a bound that only a hang would reach.
      expect(Math.max(...health.map((h) => h.loopMs))).toBeLessThan(1000);
      expect(Math.max(...health.map((h) => h.wallMs))).toBeLessThan(10_000);
      expect(ctx.srv.server.model.admission.runningSequences).toBe(0);
      await expect
        .poll(() => ctx.engine.stats(), { timeout: 5000 })
        .toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0 });
      // It was stopped early, not run to the end.
      expect(ctx.engine.stats().generatedTokens - before).toBeLessThan(16 * 600);
      expect(socket.destroyed || socket.readableEnded || socket.isPaused()).toBe(true);
    } finally {
      socket.destroy();
    }
  });

  it("leaves a client that stops reading for less than the timeout alone", async () => {
    const socket = await connectWithoutReading(
      ctx.srv.url,
      rawRequest("POST", "/v1/chat/completions", { body: bigStream(250) }),
    );
    const chunks: Buffer[] = [];
    let received = 0;
    let paused = false;
    const ended = new Promise<void>((resolve, reject) => {
      socket.on("end", resolve);
      socket.on("error", reject);
    });
    socket.on("data", (c: Buffer) => {
      chunks.push(c);
      received += c.length;
      // Once, past the first MB, it stops reading for half the timeout.
      if (!paused && received > 2 ** 20) {
        paused = true;
        socket.pause();
        setTimeout(() => socket.resume(), IDLE_MS / 2);
      }
    });
    socket.resume();
    await ended;
    const text = Buffer.concat(chunks).toString("utf8");
    expect(paused).toBe(true);
    expect(text.startsWith("HTTP/1.1 200")).toBe(true);
    expect(text.slice(-200)).toContain("data: [DONE]");
    expect(text).not.toContain("stream_idle_timeout");
    await expect.poll(() => ctx.engine.stats(), { timeout: 5000 }).toMatchObject({ running: 0, kvBlocksUsed: 0 });
  });

  it("pauses a lagging client's engine work when it gives its slots back, not a buffer later", async () => {
    const one = await startTestServer(ctx.engine, { streamIdleTimeoutMs: 100_000 });
    const before = ctx.engine.stats().generatedTokens;
    const socket = await connectWithoutReading(
      one.url,
      rawRequest("POST", "/v1/chat/completions", { body: bigStream(1000) }),
    );
    try {
      // Its ~24 kB per step fill the socket after ~170 steps; then it lags and gives its 16 slots back.
      await expect
        .poll(() => one.server.model.admission.runningSequences === 0 && one.server.model.inFlightCount === 1, {
          timeout: 60_000,
          interval: 20,
        })
        .toBe(true);
      const atLag = ctx.engine.stats().generatedTokens - before;
      await expect.poll(() => ctx.engine.stats(), { timeout: 5000 }).toMatchObject({ running: 0, paused: 16 });
      await sleep(300);
      const after = ctx.engine.stats().generatedTokens - before;
      // Paused within a step or two of lagging (it used to run on until 256 events per choice were buffered).
      expect(after - atLag).toBeLessThan(16 * 32);
      expect(ctx.engine.stats().kvBlocksUsed).toBe(0);
      expect(await (await fetch(`${one.url}/metrics`)).text()).toMatch(/^wenxin_sequences_paused 16$/m);
    } finally {
      socket.destroy();
      await one.stop();
    }
    await expect
      .poll(() => ctx.engine.stats(), { timeout: 5000 })
      .toMatchObject({ running: 0, paused: 0, kvBlocksUsed: 0 });
  });

  it("gives a lagging client's slots to the requests waiting, and takes them back after", async () => {
    const one = await startTestServer(ctx.engine, { maxConcurrency: 1, streamIdleTimeoutMs: 100_000 });
    try {
      const before = ctx.engine.stats().generatedTokens;
      const body = JSON.stringify({
        model: MODEL_ID,
        messages: [{ role: "user", content: "hello" }],
        max_tokens: 3500,
        temperature: 1,
        seed: 2,
        logprobs: true,
        top_logprobs: 20,
        stream: true,
      });
      const lagging = await connectWithoutReading(one.url, rawRequest("POST", "/v1/chat/completions", { body }));
      // It fills its socket, then gives up its only slot: a request behind it is served while the
      // lagging one is still in flight (the idle timeout, 100 s, has not freed anything).
      await expect.poll(() => ctx.engine.stats().generatedTokens - before, { timeout: 20_000 }).toBeGreaterThan(0);
      const other = await postJson(`${one.baseURL}/completions`, { model: MODEL_ID, prompt: "x", max_tokens: 2 });
      expect(other.status).toBe(200);
      expect(one.server.model.inFlightCount).toBe(1);
      // Reading again, the lagging client gets its whole answer.
      const chunks: Buffer[] = [];
      const ended = new Promise<void>((resolve) => lagging.on("end", resolve));
      lagging.on("data", (c: Buffer) => chunks.push(c));
      lagging.resume();
      await ended;
      expect(Buffer.concat(chunks).toString("utf8").slice(-100)).toContain("data: [DONE]");
      expect(one.server.model.admission.running).toBe(0);
    } finally {
      await one.stop();
    }
  });
});
