/**
 * One measurement in a fresh process (so peak RSS belongs to one engine and one model):
 *   node measure.js '{"engine":"wenxin"|"llama", "model": PATH, "weights": "bf16"|"q8"|"q4", "threads": N, "vocab": V}'
 * Prints one JSON line: { pp512_tok_s, tg128_tok_s, ttft512_ms, rss_mb, load_ms, rss_anon_mb }.
 * With "promptTokens": N (and "kv": "f32"|"int8"), only a warm-up and one N-token prompt to its first
 * token, in a context of N + 16 tokens with that KV cache: { pp_tok_s, ttft_ms, rss_mb }.
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

import { llamaGreedy, median, runMeasurementChild } from "./child_protocol.js";
import { loadedLlamaVariant, restrictLlamaVariant } from "./llama_variant.js";
import { syntheticTokens } from "./synthetic_tokens.js";

export interface MeasureRequest {
  engine: "wenxin" | "llama";
  model: string;
  weights: string;
  threads: number;
  vocab: number;
  /** Only decode (tg128), e.g. for the thread-count sweep. */
  decodeOnly?: boolean;
  /**
   * tg128 this many times after pp512 (default 1), reported as the median with every run in `tg128_runs`:
   * for a model whose load dominates a child's time (the full 21B-A3B), several decode samples per load.
   */
  tgRepeats?: number;
  /** A long-prompt measurement: this many prompt tokens to the first token, nothing else. */
  promptTokens?: number;
  /** KV cache precision (long prompts): wenxin f32/int8; llama.cpp F32/Q8_0 keys and values. */
  kv?: "f32" | "int8";
}

export interface LongPromptMeasurement {
  pp_tok_s: number;
  ttft_ms: number;
  rss_mb: number;
}

export interface Measurement {
  pp512_tok_s: number | null;
  tg128_tok_s: number;
  ttft512_ms: number | null;
  rss_mb: number;
  /** Model load (llama.cpp: model and context) to ready, before the warm-up. */
  load_ms: number;
  /** Anonymous memory at the end of the run (Linux `RssAnon`; null elsewhere): what is not mapped from files. */
  rss_anon_mb: number | null;
  /** llama.cpp only: the libggml-cpu variant that loaded. */
  llama_variant?: string;
  /** With `tgRepeats` > 1: each tg128 run, in order (tg128_tok_s is their median). */
  tg128_runs?: number[];
}

const PROMPT = 512;
const GEN = 128;

/** How one engine runs a greedy generation: time to the first token, time for the rest, token count. */
type RunOnce = (prompt: number[], maxNewTokens: number) => Promise<{ first: number; rest: number; count: number }>;

/** The same protocol for both engines: warm-up, pp512 / TTFT, then tg128 (or one long prompt). */
async function protocol(
  r: MeasureRequest,
  run: RunOnce,
): Promise<Omit<Measurement, "rss_mb" | "load_ms" | "rss_anon_mb"> | Omit<LongPromptMeasurement, "rss_mb">> {
  await run(syntheticTokens(16, r.vocab, 1), 8); // warm-up: page in weights, size buffers
  if (r.promptTokens) {
    const p = await run(syntheticTokens(r.promptTokens, r.vocab, 4), 1);
    return { pp_tok_s: (r.promptTokens / p.first) * 1000, ttft_ms: p.first };
  }
  let pp: number | null = null,
    ttft: number | null = null;
  if (!r.decodeOnly) {
    const p = await run(syntheticTokens(PROMPT, r.vocab, 2), 1);
    ttft = p.first;
    pp = (PROMPT / p.first) * 1000;
  }
  const runs: number[] = [];
  for (let i = 0; i < Math.max(1, r.tgRepeats ?? 1); i++) {
    const g = await run(syntheticTokens(16, r.vocab, 3 + i), GEN + 1);
    runs.push(((g.count - 1) / g.rest) * 1000);
  }
  return {
    pp512_tok_s: pp,
    tg128_tok_s: median(runs),
    ttft512_ms: ttft,
    ...(runs.length > 1 ? { tg128_runs: runs } : {}),
  };
}

/** The context both engines get: 1024 tokens, or the long prompt and a few more. */
function contextTokens(r: MeasureRequest): number {
  return r.promptTokens ? r.promptTokens + 16 : 1024;
}

/** `RssAnon` of this process in MB (Linux), else null. */
function anonymousRssMb(): number | null {
  try {
    const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function measureWenxin(r: MeasureRequest) {
  const { Engine } = await import("@wenxin/engine");
  const context = contextTokens(r);
  const loadStart = performance.now();
  const engine = await Engine.load(r.model, {
    threads: r.threads,
    weights: r.weights as "bf16",
    maxContext: context,
    ...(r.promptTokens ? { kvCacheTokens: context, kvCache: r.kv ?? "f32" } : {}),
  });
  const load_ms = performance.now() - loadStart;
  const run: RunOnce = async (prompt, maxNewTokens) => {
    const start = performance.now();
    let first = 0;
    let count = 0;
    for await (const ev of engine.generate({ inputIds: prompt, maxNewTokens, temperature: 0, ignoreEos: true })) {
      if (ev.type === "token") {
        if (count === 0) first = performance.now();
        count += ev.tokenIds.length;
      }
    }
    return { first: first - start, rest: performance.now() - first, count };
  };
  const m = await protocol(r, run);
  const rss_anon_mb = anonymousRssMb();
  await engine.close();
  return { ...m, load_ms, rss_anon_mb };
}

async function measureLlama(r: MeasureRequest) {
  await restrictLlamaVariant();
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, maxThreads: r.threads });
  const variant = loadedLlamaVariant();
  const loadStart = performance.now();
  const model = await llama.loadModel({ modelPath: r.model, gpuLayers: 0 });
  const kvType = r.kv === "int8" ? "Q8_0" : "F32";
  const context = await model.createContext({
    contextSize: contextTokens(r),
    batchSize: 512,
    threads: r.threads,
    sequences: 1,
    // Long prompts: the KV precision asked for (a quantized V cache needs llama.cpp's flash attention,
    // used for both precisions so they differ only in the cache).
    ...(r.promptTokens
      ? { experimentalKvCacheKeyType: kvType, experimentalKvCacheValueType: kvType, flashAttention: true }
      : {}),
  } as const);
  const load_ms = performance.now() - loadStart;
  const sequence = context.getSequence();
  const run: RunOnce = async (prompt, n) => {
    const start = performance.now();
    const { firstAt, count } = await llamaGreedy(sequence, prompt, n);
    return { first: firstAt - start, rest: performance.now() - firstAt, count };
  };
  const m = await protocol(r, run);
  const rss_anon_mb = anonymousRssMb();
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  return { ...m, load_ms, rss_anon_mb, llama_variant: variant };
}

runMeasurementChild(async (r: MeasureRequest): Promise<Measurement | LongPromptMeasurement> => {
  const m = r.engine === "wenxin" ? await measureWenxin(r) : await measureLlama(r);
  return { ...m, rss_mb: process.resourceUsage().maxRSS / 1024 };
});
