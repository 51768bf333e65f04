// The soak load: `clients` loops that, until the deadline, each send a random mix of requests:
// streaming chats, chats the client abandons mid-stream, tool calls (forced and auto), json_schema
// replies, plain completions and malformed requests. Valid requests must all succeed, malformed ones
// get their 4xx; the server's resident memory is sampled throughout (slope after warm-up) and, at
// the end, the server must come back to idle: nothing running or queued, no KV blocks held.
import {
  linearFit,
  malformedRequests,
  postJson,
  prng,
  quantile,
  scrapeMetrics,
  sendMalformed,
  streamChat,
  userMessage,
} from "./bench_client.mjs";

const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
      required: ["city"],
    },
  },
};

const PERSON_SCHEMA = {
  type: "json_schema",
  json_schema: {
    name: "person",
    strict: true,
    schema: {
      type: "object",
      properties: { name: { type: "string" }, age: { type: "integer" } },
      required: ["name", "age"],
      additionalProperties: false,
    },
  },
};

/** Share of each kind of request (they add up to 1). */
const MIX = [
  ["stream", 0.35],
  ["disconnect", 0.1],
  ["tool_call", 0.15],
  ["json_schema", 0.15],
  ["completion", 0.1],
  ["malformed", 0.15],
];

function pick(rand) {
  let r = rand();
  for (const [kind, share] of MIX) if ((r -= share) < 0) return kind;
  return MIX[0][0];
}

/** Runs one request of `kind`; resolves with { kind, valid, ok, ttftMs?, error? }. */
async function runOne(kind, o, rand, n, cases) {
  const chat = {
    model: o.modelName,
    messages: [{ role: "user", content: userMessage(n) }],
    max_tokens: o.maxTokens,
    temperature: 0.8,
    seed: n,
  };
  switch (kind) {
    case "stream": {
      const r = await streamChat(o.url, chat, { apiKey: o.apiKey });
      return { kind, valid: true, ok: r.ok, ttftMs: r.ttftMs, error: r.error };
    }
    case "disconnect": {
      const r = await streamChat(
        o.url,
        { ...chat, max_tokens: o.maxTokens * 4 },
        { apiKey: o.apiKey, disconnectAfter: 1 + Math.floor(rand() * 4) },
      );
      return { kind, valid: true, ok: r.ok, error: r.error };
    }
    case "tool_call": {
      const forced = rand() < 0.5;
      const r = await streamChat(
        o.url,
        {
          ...chat,
          messages: [{ role: "user", content: `What is the weather in city #${n}?` }],
          tools: [WEATHER_TOOL],
          tool_choice: forced ? "required" : "auto",
          max_tokens: o.maxTokens * 2,
        },
        { apiKey: o.apiKey },
      );
      // A forced call starts with the call itself (the prompt prefills it), whatever the weights.
      const ok = r.ok && (!forced || r.toolCalls >= 1);
      return {
        kind,
        valid: true,
        ok,
        ttftMs: r.ttftMs,
        error: r.error ?? (ok ? null : "a forced tool call returned no tool_calls"),
      };
    }
    case "json_schema": {
      const r = await postJson(
        o.url,
        "/v1/chat/completions",
        { ...chat, response_format: PERSON_SCHEMA, max_tokens: o.maxTokens * 2 },
        { apiKey: o.apiKey },
      );
      let error = r.status === 200 ? null : `status ${r.status}: ${r.text.slice(0, 200)}`;
      const choice = r.json?.choices?.[0];
      if (!error && choice?.finish_reason === "stop") {
        try {
          JSON.parse(choice.message.content);
        } catch {
          error = `finished JSON reply does not parse: ${choice.message.content.slice(0, 120)}`;
        }
      }
      return { kind, valid: true, ok: error === null, error };
    }
    case "completion": {
      const r = await postJson(
        o.url,
        "/v1/completions",
        { model: o.modelName, prompt: userMessage(n), max_tokens: o.maxTokens, temperature: 0.8, seed: n },
        { apiKey: o.apiKey },
      );
      const ok = r.status === 200 && typeof r.json?.choices?.[0]?.text === "string";
      return { kind, valid: true, ok, error: ok ? null : `status ${r.status}: ${r.text.slice(0, 200)}` };
    }
    default: {
      const c = cases[Math.floor(rand() * cases.length)];
      const r = await sendMalformed(o.url, c, o.apiKey);
      return { kind, valid: false, ok: r.ok, name: c.name, error: r.error };
    }
  }
}

/** Polls /metrics until nothing runs or waits (and no KV block is held, when reported); bounded. */
export async function waitForIdle(url, apiKey, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await scrapeMetrics(url, apiKey);
    const state = {
      requests_running: m.get("wenxin_requests_running"),
      queue_depth: m.get("wenxin_queue_depth"),
      sequences_running: m.get("wenxin_sequences_running") ?? null,
      kv_blocks_used: m.get("wenxin_kv_cache_blocks_used") ?? null,
    };
    const idle =
      state.requests_running === 0 && state.queue_depth === 0 && !state.sequences_running && !state.kv_blocks_used;
    if (idle || Date.now() > deadline) return { idle, ...state };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs the soak. Options: url, modelName, clients, durationMs, maxTokens, apiKey, seed,
 * rss (() => MB, optional), sampleEveryMs, warmupMs, log.
 */
export async function runSoak(o) {
  const log = o.log ?? (() => {});
  const cases = malformedRequests({ modelName: o.modelName, apiKey: o.apiKey });
  const started = Date.now();
  const deadline = started + o.durationMs;
  const samples = [];
  const sample = () => o.rss && samples.push({ minute: (Date.now() - started) / 60_000, mb: o.rss() });
  sample();
  const sampler = setInterval(sample, o.sampleEveryMs ?? 10_000);
  const results = [];
  let counter = 0;
  let lastReport = started;
  try {
    await Promise.all(
      Array.from({ length: o.clients }, async (_, client) => {
        const rand = prng((o.seed ?? 1) * 7919 + client);
        while (Date.now() < deadline) {
          const n = counter++;
          const r = await runOne(pick(rand), o, rand, n, cases);
          results.push(r);
          if (!r.ok) log(`  ${r.valid ? "FAILED" : "WRONG STATUS"} ${r.kind}${r.name ? ` ${r.name}` : ""}: ${r.error}`);
          if (Date.now() - lastReport > 60_000) {
            lastReport = Date.now();
            const last = samples.at(-1);
            log(
              `${((Date.now() - started) / 60_000).toFixed(1)} min: ${results.length} requests${last ? `, RSS ${last.mb.toFixed(0)} MB` : ""}`,
            );
          }
        }
      }),
    );
  } finally {
    clearInterval(sampler);
  }
  sample();
  const idle = await waitForIdle(o.url, o.apiKey);

  const valid = results.filter((r) => r.valid);
  const malformed = results.filter((r) => !r.valid);
  const byKind = {};
  for (const r of results) byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
  // Default warm-up: the first third. The engine allocates KV blocks as it first needs them and keeps
  // them (free or as cached prefixes), so resident memory climbs until the pool is whole.
  const warmupMin = (o.warmupMs ?? o.durationMs / 3) / 60_000;
  const steady = samples.filter((s) => s.minute >= warmupMin);
  const fit = linearFit(
    steady.map((s) => s.minute),
    steady.map((s) => s.mb),
  );
  const ttfts = valid.map((r) => r.ttftMs).filter((t) => t !== undefined && !Number.isNaN(t));
  return {
    minutes: Number(((Date.now() - started) / 60_000).toFixed(2)),
    clients: o.clients,
    requests: results.length,
    by_kind: byKind,
    valid: valid.length,
    valid_failed: valid.filter((r) => !r.ok).length,
    malformed: malformed.length,
    malformed_wrong_status: malformed.filter((r) => !r.ok).length,
    ttft_p50_ms: Math.round(quantile(ttfts, 0.5)),
    ttft_p99_ms: Math.round(quantile(ttfts, 0.99)),
    rss: o.rss
      ? {
          samples: samples.length,
          warmup_minutes: Number(warmupMin.toFixed(2)),
          after_warmup_mb: Number((steady[0]?.mb ?? NaN).toFixed(1)),
          end_mb: Number(samples.at(-1).mb.toFixed(1)),
          max_mb: Number(Math.max(...samples.map((s) => s.mb)).toFixed(1)),
          slope_mb_per_min: Number(fit.slope.toFixed(3)),
          series: samples.map((s) => [Number(s.minute.toFixed(2)), Number(s.mb.toFixed(1))]),
        }
      : null,
    idle,
    failures: results
      .filter((r) => !r.ok)
      .slice(0, 10)
      .map((r) => `${r.kind}${r.name ? ` ${r.name}` : ""}: ${r.error}`),
  };
}
