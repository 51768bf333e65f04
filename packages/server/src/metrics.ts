/**
 * Prometheus metrics (prom-client), on a registry of the server's own so several servers in one
 * process (tests) do not collide. Gauges that mirror live state are read at scrape time.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

import type { EngineStats } from "@wenxin/engine";

import type { ServedModel } from "./served_model.js";

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const ITL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 1, 2.5, 5];
const TTFT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Width of the window behind the tokens-per-second gauge. */
const RATE_WINDOW_S = 10;

/** Generated-token counts in one-second buckets, for a rate over the last few seconds. */
class TokenRate {
  private readonly buckets = new Map<number, number>();

  add(tokens: number, nowMs = Date.now()): void {
    const second = Math.floor(nowMs / 1000);
    this.buckets.set(second, (this.buckets.get(second) ?? 0) + tokens);
    for (const s of this.buckets.keys()) if (s <= second - RATE_WINDOW_S) this.buckets.delete(s);
  }

  perSecond(nowMs = Date.now()): number {
    const now = nowMs / 1000;
    let sum = 0;
    for (const [s, n] of this.buckets) if (s > now - RATE_WINDOW_S) sum += n;
    return sum / RATE_WINDOW_S;
  }
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly rate = new TokenRate();

  readonly requests = new Counter({
    name: "wenxin_http_requests_total",
    help: "HTTP requests answered, by route, method and status",
    labelNames: ["route", "method", "status"] as const,
    registers: [this.registry],
  });

  readonly errors = new Counter({
    name: "wenxin_http_request_errors_total",
    help: "Requests that ended in an error, by route, status and OpenAI error code",
    labelNames: ["route", "status", "code"] as const,
    registers: [this.registry],
  });

  readonly latency = new Histogram({
    name: "wenxin_http_request_duration_seconds",
    help: "Time from receiving a request to its last byte, by route",
    labelNames: ["route"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly timeToFirstToken = new Histogram({
    name: "wenxin_time_to_first_token_seconds",
    help: "Time from receiving a generation request to its first generated token (queueing included)",
    labelNames: ["route"] as const,
    buckets: TTFT_BUCKETS,
    registers: [this.registry],
  });

  // vLLM's names and `model_name` label, so dashboards made for vLLM read them as they are.
  readonly queueTime: Histogram<"model_name">;
  readonly interTokenLatency: Histogram<"model_name">;
  readonly finished: Counter<"model_name" | "finished_reason">;

  readonly promptTokens = new Counter({
    name: "wenxin_prompt_tokens_total",
    help: "Prompt tokens of admitted generation and embedding requests",
    registers: [this.registry],
  });

  readonly generatedTokens = new Counter({
    name: "wenxin_generation_tokens_total",
    help: "Tokens generated",
    registers: [this.registry],
  });

  /** The engine's statistics of the scrape in progress: every engine gauge reads the same snapshot. */
  private scrapeStats: EngineStats | undefined;

  /** The exposition text; the engine's statistics are read once for the whole scrape. */
  async render(model: ServedModel): Promise<string> {
    this.scrapeStats = model.engineStats();
    try {
      return await this.registry.metrics();
    } finally {
      this.scrapeStats = undefined;
    }
  }

  private stats(model: ServedModel): EngineStats | undefined {
    return this.scrapeStats ?? model.engineStats();
  }

  constructor(private readonly model: ServedModel) {
    this.queueTime = new Histogram({
      name: "vllm:request_queue_time_seconds",
      help: "Time requests waited for an engine slot",
      labelNames: ["model_name"],
      buckets: TTFT_BUCKETS,
      registers: [this.registry],
    });
    this.interTokenLatency = new Histogram({
      name: "vllm:inter_token_latency_seconds",
      help: "Time between successive tokens of a sequence",
      labelNames: ["model_name"],
      buckets: ITL_BUCKETS,
      registers: [this.registry],
    });
    this.finished = new Counter({
      name: "vllm:request_success_total",
      help: "Sequences that ended, by why: stop (an end token, a stop string, a complete answer), length (the token limit), abort (the client left or the request failed)",
      labelNames: ["model_name", "finished_reason"],
      registers: [this.registry],
    });
    const rate = this.rate;
    const stats = () => this.stats(model);
    new Gauge({
      name: "wenxin_generation_tokens_per_second",
      help: `Tokens generated per second over the last ${RATE_WINDOW_S} s, all requests together`,
      registers: [this.registry],
      collect() {
        this.set(rate.perSecond());
      },
    });
    new Gauge({
      name: "wenxin_queue_depth",
      help: "Requests waiting for an engine slot",
      registers: [this.registry],
      collect() {
        this.set(model.admission.queued);
      },
    });
    new Gauge({
      name: "wenxin_requests_running",
      help: "Requests holding an engine slot",
      registers: [this.registry],
      collect() {
        this.set(model.admission.running);
      },
    });
    new Gauge({
      name: "wenxin_requests_lagging",
      help: "Requests whose clients fell behind, holding or waiting for a slot again (after fresh requests)",
      registers: [this.registry],
      collect() {
        this.set(model.admission.lagging);
      },
    });
    new Gauge({
      name: "wenxin_kv_cache_usage_ratio",
      help: "Fraction of the KV cache blocks held by sequences",
      registers: [this.registry],
      collect() {
        const s = stats();
        this.set(s && s.kvBlocksTotal > 0 ? s.kvBlocksUsed / s.kvBlocksTotal : 0);
      },
    });
    new Gauge({
      name: "wenxin_model_ready",
      help: "1 when the model is loaded and taking requests",
      registers: [this.registry],
      collect() {
        this.set(model.state === "ready" ? 1 : 0);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: "wenxin_" });
    this.addEngineGauges(stats);
  }

  /** Read from `engine.stats()` at scrape time (absent while the model loads): KV blocks, the engine's queue, the prefix cache. */
  private addEngineGauges(stats: () => EngineStats | undefined): void {
    const gauge = (name: string, help: string, read: (s: EngineStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const s = stats();
          if (s) this.set(read(s));
        },
      });
    // Cumulative engine totals: counters whose value is copied from the engine at scrape time.
    const counter = (name: string, help: string, read: (s: EngineStats) => number) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          const s = stats();
          if (!s) return;
          this.reset();
          this.inc(read(s));
        },
      });
    gauge("wenxin_kv_cache_blocks_used", "KV cache blocks held by sequences", (s) => s.kvBlocksUsed);
    gauge(
      "wenxin_kv_cache_blocks_free",
      "KV cache blocks not held by a sequence (prefix-cached ones included)",
      (s) => s.kvBlocksFree,
    );
    gauge(
      "wenxin_kv_cache_blocks_cached",
      "Free KV cache blocks that keep a prompt prefix for reuse (reclaimed when needed)",
      (s) => s.kvBlocksCached,
    );
    gauge("wenxin_kv_cache_blocks_total", "KV cache blocks in all", (s) => s.kvBlocksTotal);
    gauge("wenxin_kv_cache_block_tokens", "Tokens per KV cache block", (s) => s.kvBlockTokens);
    gauge("wenxin_sequences_waiting", "Sequences submitted to the engine and not yet scheduled", (s) => s.waiting);
    gauge("wenxin_sequences_running", "Sequences the engine steps", (s) => s.running);
    gauge(
      "wenxin_sequences_paused",
      "Sequences paused because their clients do not read: they hold no batch slot and no KV blocks",
      (s) => s.paused,
    );
    counter(
      "wenxin_prefix_cache_hit_tokens_total",
      "Prompt tokens served from the prefix cache instead of computed",
      (s) => s.prefixCacheHitTokens,
    );
    counter("wenxin_engine_preemptions_total", "Sequences preempted for lack of KV cache", (s) => s.preemptions);
    counter("wenxin_engine_steps_total", "Engine steps (one forward pass over all running sequences)", (s) => s.steps);
  }

  recordQueueTime(seconds: number): void {
    this.queueTime.observe({ model_name: this.model.id }, seconds);
  }

  recordInterTokenLatency(seconds: number): void {
    this.interTokenLatency.observe({ model_name: this.model.id }, seconds);
  }

  recordFinished(reason: "stop" | "length" | "abort"): void {
    this.finished.inc({ model_name: this.model.id, finished_reason: reason });
  }

  /** Counts tokens as they are generated (feeds the counter and the rate gauge). */
  addGenerated(tokens: number): void {
    if (tokens <= 0) return;
    this.generatedTokens.inc(tokens);
    this.rate.add(tokens);
  }
}
