// GET /metrics in Prometheus text format: counters that add up to what the clients saw, and
// gauges that follow the queue and the requests in flight.
import { describe, expect, it } from "vitest";

import { MODEL_ID, postJson, readUntil, startPost, useDenseServer } from "./helpers/test_server.js";

const ctx = useDenseServer({ maxConcurrency: 1 });

/** The value of one sample line, by metric name and exact label set (as printed). */
async function scrape(): Promise<(name: string, labels?: string) => number | undefined> {
  const res = await fetch(`${ctx.srv.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return (name, labels = "") => {
    const line = text.split("\n").find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ""} `));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
  };
}

const chat = (extra: Record<string, unknown> = {}) => ({
  model: MODEL_ID,
  messages: [{ role: "user", content: "hi" }],
  temperature: 0,
  ...extra,
});

describe("/metrics", () => {
  it("counts requests, errors, tokens and time to first token", async () => {
    const answers = [
      await postJson(`${ctx.srv.baseURL}/chat/completions`, chat({ max_tokens: 5 })),
      await postJson(`${ctx.srv.baseURL}/chat/completions`, chat({ max_tokens: 7, stream: true })),
      await postJson(`${ctx.srv.baseURL}/completions`, { model: MODEL_ID, prompt: "hello", max_tokens: 4 }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const embedded = await postJson(`${ctx.srv.baseURL}/embeddings`, { model: MODEL_ID, input: ["a b c", "d"] });
    expect((await postJson(`${ctx.srv.baseURL}/chat/completions`, chat({ top_p: 7 }))).status).toBe(400);

    const m = await scrape();
    expect(m("wenxin_http_requests_total", 'route="/v1/chat/completions",method="POST",status="200"')).toBe(2);
    expect(m("wenxin_http_requests_total", 'route="/v1/chat/completions",method="POST",status="400"')).toBe(1);
    expect(m("wenxin_http_requests_total", 'route="/v1/completions",method="POST",status="200"')).toBe(1);
    expect(
      m("wenxin_http_request_errors_total", 'route="/v1/chat/completions",status="400",code="invalid_value"'),
    ).toBe(1);
    expect(m("wenxin_http_request_duration_seconds_count", 'route="/v1/chat/completions"')).toBe(3);
    expect(m("wenxin_time_to_first_token_seconds_count", 'route="/v1/chat/completions"')).toBe(2);
    expect(m("wenxin_time_to_first_token_seconds_count", 'route="/v1/completions"')).toBe(1);
    expect(m("wenxin_generation_tokens_total")).toBe(5 + 7 + 4);
    const promptTokens =
      answers[0]!.json.usage.prompt_tokens * 2 +
      answers[2]!.json.usage.prompt_tokens +
      embedded.json.usage.prompt_tokens;
    expect(m("wenxin_prompt_tokens_total")).toBe(promptTokens);
    expect(m("wenxin_generation_tokens_per_second")).toBeCloseTo((5 + 7 + 4) / 10, 5);
    expect(m("wenxin_model_ready")).toBe(1);
    expect(m("wenxin_process_cpu_seconds_total")).toBeGreaterThan(0);
  });

  it("shows the queue, the running requests and the KV cache they hold", async () => {
    const first = new AbortController();
    try {
      const res = await startPost(
        `${ctx.srv.baseURL}/chat/completions`,
        chat({ stream: true, max_tokens: 3000 }),
        first.signal,
      );
      await readUntil(res, (t) => t.includes("data:"));
      const queued = postJson(`${ctx.srv.baseURL}/chat/completions`, chat({ max_tokens: 2 }));
      await expect.poll(() => ctx.srv.server.model.admission.queued, { timeout: 5000 }).toBe(1);
      const busy = await scrape();
      expect(busy("wenxin_queue_depth")).toBe(1);
      expect(busy("wenxin_requests_running")).toBe(1);
      expect(busy("wenxin_sequences_running")).toBe(1);
      expect(busy("wenxin_sequences_waiting")).toBe(0);
      const total = busy("wenxin_kv_cache_blocks_total")!;
      expect(total).toBe(ctx.engine.stats().kvBlocksTotal);
      expect(busy("wenxin_kv_cache_blocks_used")).toBeGreaterThan(0);
      expect(busy("wenxin_kv_cache_blocks_used")! + busy("wenxin_kv_cache_blocks_free")!).toBeLessThanOrEqual(total);
      expect(busy("wenxin_kv_cache_usage_ratio")).toBeCloseTo(busy("wenxin_kv_cache_blocks_used")! / total, 6);
      first.abort();
      expect((await queued).status).toBe(200);
      await expect.poll(() => ctx.srv.server.model.inFlightCount, { timeout: 5000 }).toBe(0);
      const idle = await scrape();
      expect(idle("wenxin_queue_depth")).toBe(0);
      expect(idle("wenxin_requests_running")).toBe(0);
      expect(idle("wenxin_kv_cache_usage_ratio")).toBe(0);
      expect(idle("wenxin_kv_cache_blocks_used")).toBe(0);
      expect(idle("wenxin_sequences_running")).toBe(0);
    } finally {
      first.abort();
    }
  });

  it("frees the sequence and its KV blocks when a client disconnects mid-stream", async () => {
    const client = new AbortController();
    const res = await startPost(
      `${ctx.srv.baseURL}/chat/completions`,
      chat({ stream: true, max_tokens: 3000 }),
      client.signal,
    );
    await readUntil(res, (t) => (t.match(/"content":"[^"]/g) ?? []).length >= 2); // tokens are flowing
    expect(ctx.engine.stats()).toMatchObject({ running: 1 });
    expect(ctx.engine.stats().kvBlocksUsed).toBeGreaterThan(0);
    client.abort();
    await expect
      .poll(() => ctx.engine.stats(), { timeout: 5000, interval: 20 })
      .toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0 });
    // The route lets its slot go after its stream ends, a few turns of the event loop after the engine's
    // (more when the disconnect made the request background work, handled one piece per turn).
    await expect.poll(() => ctx.srv.server.model.inFlightCount, { timeout: 5000, interval: 20 }).toBe(0);
    const m = await scrape();
    expect(m("wenxin_kv_cache_blocks_used")).toBe(0);
    expect(m("wenxin_requests_running")).toBe(0);
    const generated = ctx.engine.stats().generatedTokens;
    await new Promise((r) => setTimeout(r, 100));
    expect(ctx.engine.stats().generatedTokens).toBe(generated); // nothing is still generating for it
  });

  it("counts prefix-cache hits from the engine", async () => {
    const before = (await scrape())("wenxin_prefix_cache_hit_tokens_total")!;
    // A prompt longer than a KV block, sent twice: the second reuses the first one's blocks.
    const long = chat({ messages: [{ role: "user", content: "steady words repeated ".repeat(40) }], max_tokens: 1 });
    expect((await postJson(`${ctx.srv.baseURL}/chat/completions`, long)).status).toBe(200);
    expect((await postJson(`${ctx.srv.baseURL}/chat/completions`, long)).status).toBe(200);
    const after = await scrape();
    expect(after("wenxin_prefix_cache_hit_tokens_total")! - before).toBeGreaterThan(0);
    expect(after("wenxin_prefix_cache_hit_tokens_total")).toBe(ctx.engine.stats().prefixCacheHitTokens);
    // Idle again: the prompt's blocks are no longer held, but kept as a reusable prefix.
    expect(after("wenxin_kv_cache_blocks_used")).toBe(0);
    expect(after("wenxin_kv_cache_blocks_cached")).toBeGreaterThan(0);
  });
});
