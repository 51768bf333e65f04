// The abuse benchmark's clients: streams that stop reading, uploads that trickle in, schemas that
// are expensive to compile, the longest stop strings, bodies of 4 MiB, and a /health probe that
// times every answer. Each kind reports what happened to it; none retries.
import http from "node:http";
import net from "node:net";

import { describeError, postJson, postOversize, quantile } from "./bench_client.mjs";

/** Choices of each stalled client's request (the most bytes per token with 20 alternatives each). */
export const STALLED_CHOICES = 16;

/**
 * `count` clients that send a streaming chat and then never read. Each asks for the most bytes per
 * token the API allows (16 choices with 20 log-probability alternatives, ~24 kB per engine step),
 * so its answer outgrows the ~4 MB that loopback sockets buffer after ~170 steps; from then on the
 * server sees a client that takes nothing. Resolves once every socket is open; `closedByServer()`
 * counts the ones the server hung up on, `destroy()` closes the rest.
 */
export async function stalledStreams(url, { count, modelName, maxTokens = 1000 }) {
  const { hostname, port } = new URL(url);
  const sockets = [];
  let closedByServer = 0;
  const body = (i) =>
    JSON.stringify({
      model: modelName,
      messages: [{ role: "user", content: `Tell a very long story about the number ${i}.` }],
      max_tokens: maxTokens,
      n: STALLED_CHOICES,
      logprobs: true,
      top_logprobs: 20,
      temperature: 1,
      seed: i,
      stream: true,
    });
  await Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise((resolve, reject) => {
          const socket = net.connect({ port: Number(port), host: hostname }, () => {
            socket.pause();
            const payload = body(i);
            socket.write(
              `POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\n` +
                `content-length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
            );
            resolve();
          });
          socket.on("error", () => undefined); // a reset from the server is the expected end
          socket.once("close", () => {
            if (!socket.destroyedByUs) closedByServer++;
          });
          socket.once("error", reject);
          sockets.push(socket);
        }),
    ),
  );
  return {
    closedByServer: () => closedByServer,
    destroy() {
      for (const s of sockets) {
        s.destroyedByUs = !s.destroyed;
        s.destroy();
      }
    },
  };
}

/**
 * `count` slow-loris connections: a request line and then one header byte every `everyMs`, never
 * finishing the headers. `closedByServer()` counts those the server gave up on (its request timeout).
 */
export function slowHeaders(url, { count, everyMs = 2000 }) {
  const { hostname, port } = new URL(url);
  const sockets = [];
  let closedByServer = 0;
  for (let i = 0; i < count; i++) {
    const socket = net.connect({ port: Number(port), host: hostname }, () => {
      socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}\r\nx-slow: `);
      const timer = setInterval(() => !socket.destroyed && socket.write("a"), everyMs);
      socket.once("close", () => clearInterval(timer));
    });
    socket.on("error", () => undefined);
    socket.on("data", () => undefined);
    socket.once("close", () => {
      if (!socket.destroyedByUs) closedByServer++;
    });
    sockets.push(socket);
  }
  return {
    closedByServer: () => closedByServer,
    destroy() {
      for (const s of sockets) {
        s.destroyedByUs = !s.destroyed;
        s.destroy();
      }
    },
  };
}

/**
 * The schema of issue 18: every level's anyOf branches inherit the level's `properties`, which hold
 * the next level (969 bytes at depth 12; compiled branch by branch it cost 2^depth). `salt` renames
 * the property so that no two requests share a compiled grammar.
 */
export function nestedAnyOfSchema(depth, salt) {
  let s = { type: "string" };
  for (let k = 0; k < depth; k++)
    s = { type: "object", properties: { [`v${salt}`]: s }, anyOf: [{ required: [`v${salt}`] }, {}] };
  return s;
}

/**
 * The abusive requests other than connections, each with the statuses it may get. A schema may be
 * compiled (200) or refused as too large (400), never a 5xx or a hang; the longest stop strings the
 * server allows are served; past the limits and at 4 MiB, the answer is a 4xx, quickly.
 */
export function abusiveRequests({ modelName, depth, bodyLimit = 4 * 1024 * 1024, stopCount = 16, stopLength = 256 }) {
  const chat = (extra) => ({
    model: modelName,
    messages: [{ role: "user", content: "Say something." }],
    max_tokens: 16,
    ...extra,
  });
  const stops = (count, length, salt) =>
    Array.from({ length: count }, (_, i) => `${salt}:${i}:`.padEnd(length, "\u6587"));
  // A prompt that fills the body almost to its limit: refused on its length, before tokenizing.
  const bigPrompt = (salt) => `${salt} ` + "ERNIE ".repeat(Math.floor((bodyLimit - 4096) / 6));
  return [
    {
      kind: "schema",
      body: (i) =>
        chat({
          response_format: {
            type: "json_schema",
            json_schema: { name: "nested", schema: nestedAnyOfSchema(depth, i) },
          },
        }),
      statuses: [200, 400],
    },
    {
      // 25 properties of ~50,000 grammar elements each (one rule per step of a bounded
      // repetition): past the default 1,000,000-element limit, refused with a 400 after the worker
      // has compiled 20 of them; a new character per request, so nothing is cached
      kind: "schema_oversize",
      body: (i) =>
        chat({
          response_format: {
            type: "json_schema",
            json_schema: {
              name: "wide",
              schema: {
                type: "object",
                properties: Object.fromEntries(
                  Array.from({ length: 25 }, (_, j) => [
                    `p${j}`,
                    { type: "string", pattern: `^${String.fromCodePoint(0x4e00 + i * 25 + j)}{0,9999}$` },
                  ]),
                ),
              },
            },
          },
        }),
      statuses: [400],
    },
    { kind: "stop_longest", body: (i) => chat({ stop: stops(stopCount, stopLength, i) }), statuses: [200] },
    {
      kind: "stop_too_many",
      body: (i) => chat({ stop: stops(stopCount + 1, stopLength, i) }),
      statuses: [400],
    },
    { kind: "stop_too_long", body: (i) => chat({ stop: [`${i}`.padEnd(100_000, "x")] }), statuses: [400] },
    {
      kind: "body_4mib_prompt",
      body: (i) => chat({ messages: [{ role: "user", content: bigPrompt(i) }] }),
      statuses: [400],
    },
    {
      kind: "body_4mib_embeddings",
      route: "/v1/embeddings",
      body: (i) => ({
        model: modelName,
        input: Array.from({ length: 2000 }, (_, j) => `${i}.${j} ` + "文心".repeat(Math.floor(bodyLimit / 2000 / 7))),
      }),
      statuses: [400],
    },
    {
      kind: "body_over_limit",
      oversize: true,
      body: (i) => chat({ messages: [{ role: "user", content: `${i}`.padEnd(bodyLimit + 1, "x") }] }),
      statuses: [413],
    },
  ];
}

/** `count` calls of `fn(i)` spread evenly over `ms`, the first at once; resolves with their results. */
export async function spread(count, ms, fn) {
  const started = performance.now();
  const runs = [];
  for (let i = 0; i < count; i++) {
    await new Promise((r) => setTimeout(r, Math.max(0, started + (i * ms) / count - performance.now())));
    runs.push(fn(i));
  }
  return Promise.all(runs);
}

/** Request `i` of kind `c`, its body serialised (a Buffer) before it is sent. */
export function prepareAbusive(c, i) {
  return { ...c, bytes: Buffer.from(JSON.stringify(c.body(i))) };
}

/**
 * Sends one abusive request prepared by `prepareAbusive`; resolves with { kind, ok, status, ms,
 * error, at } (`at`: when it was sent, ms since the epoch, as performance.timeOrigin + now()).
 */
export async function sendAbusive(url, c) {
  const started = performance.now();
  const at = performance.timeOrigin + started;
  try {
    const route = c.route ?? "/v1/chat/completions";
    const payload = c.bytes;
    const res = c.oversize ? await postOversize(url, route, payload) : await postJson(url, route, payload);
    const ok = c.statuses.includes(res.status);
    return {
      kind: c.kind,
      ok,
      status: res.status,
      ms: performance.now() - started,
      error: ok ? null : `got ${res.status}: ${res.text.slice(0, 200)}`,
      at,
    };
  } catch (err) {
    return { kind: c.kind, ok: false, status: 0, ms: performance.now() - started, error: describeError(err), at };
  }
}

/**
 * This process's own event-loop delay: a timer every `everyMs` notes how late it ran, when later
 * than `overMs`. The benchmark's clients share one event loop, so a delay here is time the
 * measured requests could not be timed or read, whatever the server did.
 */
export function loopDelay({ everyMs = 5, overMs = 15 } = {}) {
  const late = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const ms = now - last - everyMs;
    if (ms > overMs) late.push({ at: Date.now() - ms, ms });
    last = now;
  }, everyMs);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    /** The delays that began between `since` and `until` (ms since the epoch). */
    summary(since = 0, until = Infinity) {
      const within = late.filter((l) => l.at >= since && l.at <= until).map((l) => l.ms);
      return {
        [`over_${overMs}ms`]: within.length,
        total_ms: round(within.reduce((a, b) => a + b, 0)),
        max_ms: round(Math.max(0, ...within)),
      };
    },
  };
}

/**
 * GETs /health every `everyMs` on its own connection until stopped; every answer is timed (one that
 * takes longer than `timeoutMs` counts as a failure).
 */
export function healthProbe(url, { everyMs = 250, timeoutMs = 10_000 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples = [];
  let stopped = false;
  let pending = Promise.resolve();
  const probe = () =>
    new Promise((resolve) => {
      const started = performance.now();
      const req = http.get(`${url}/health`, { agent, timeout: timeoutMs }, (res) => {
        res.resume();
        res.on("end", () => {
          samples.push({ at: Date.now(), ms: performance.now() - started, ok: res.statusCode === 200 });
          resolve();
        });
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", () => {
        samples.push({ at: Date.now(), ms: performance.now() - started, ok: false });
        resolve();
      });
    });
  const loop = async () => {
    while (!stopped) {
      const next = new Promise((r) => setTimeout(r, everyMs));
      await probe();
      await next;
    }
  };
  pending = loop();
  return {
    /** Stops probing. */
    async stop() {
      stopped = true;
      await pending;
      agent.destroy();
    },
    /** The probes answered between `since` and `until` (ms since the epoch). */
    summary(since = 0, until = Infinity) {
      const within = samples.filter((s) => s.at >= since && s.at <= until);
      const ms = within.map((s) => s.ms);
      return {
        probes: ms.length,
        failures: within.filter((s) => !s.ok).length,
        p50_ms: round(quantile(ms, 0.5)),
        p99_ms: round(quantile(ms, 0.99)),
        max_ms: round(Math.max(0, ...ms)),
        // when the slowest probe was answered (ms since the epoch), to place it among the phases
        slowest_at: within.reduce((a, s) => (a === undefined || s.ms > a.ms ? s : a), undefined)?.at ?? null,
        over_1s: ms.filter((m) => m > 1000).length,
      };
    },
  };
}

export function round(x, digits = 0) {
  return Number.isFinite(x) ? Number(x.toFixed(digits)) : null;
}
