/**
 * Concurrent streams on one engine, in a fresh process:
 *   node concurrency_measure.js '{"engine":"wenxin"|"llama", "model": PATH, "weights": ..., "threads": N,
 *                                 "vocab": V, "streams": [1, 4, 16, 64], "genTokens": 64}'
 * Prints one JSON line: { aggregate: [{ streams, tok_s, seconds }], prefix?: { miss_ms, hit_ms } }.
 * Every stream has its own 16-token prompt and generates genTokens tokens greedily, past end of sequence.
 */
import { performance } from "node:perf_hooks";

import { llamaGreedy, runMeasurementChild } from "./child_protocol.js";
import { loadedLlamaVariant, restrictLlamaVariant } from "./llama_variant.js";
import { syntheticTokens } from "./synthetic_tokens.js";

export interface ConcurrencyRequest {
  engine: "wenxin" | "llama";
  model: string;
  weights: string;
  threads: number;
  vocab: number;
  streams: number[];
  genTokens: number;
  /** wenxin: also time-to-first-token of a 500-token shared system prompt, uncached and cached. */
  prefix?: boolean;
}

export interface ConcurrencyMeasurement {
  aggregate: { streams: number; tok_s: number; seconds: number }[];
  prefix?: { system_tokens: number; question_tokens: number; miss_ms: number; hit_ms: number };
  /** llama.cpp only: the libggml-cpu variant that loaded. */
  llama_variant?: string;
}

const PROMPT = 16;
const SYSTEM = 500;

/** One engine's way to run a greedy stream; resolves with the time of its first token and its count. */
type Stream = (prompt: number[], maxNewTokens: number) => Promise<{ firstAt: number; count: number }>;

async function aggregate(r: ConcurrencyRequest, stream: Stream): Promise<ConcurrencyMeasurement["aggregate"]> {
  await stream(syntheticTokens(PROMPT, r.vocab, 1), 8); // warm-up
  const out: ConcurrencyMeasurement["aggregate"] = [];
  for (const n of r.streams) {
    const start = performance.now();
    const runs = await Promise.all(
      Array.from({ length: n }, (_, i) => stream(syntheticTokens(PROMPT, r.vocab, 100 + i), r.genTokens)),
    );
    const seconds = (performance.now() - start) / 1000;
    const tokens = runs.reduce((a, x) => a + x.count, 0);
    out.push({ streams: n, tok_s: tokens / seconds, seconds });
  }
  return out;
}

async function measureWenxin(r: ConcurrencyRequest): Promise<ConcurrencyMeasurement> {
  const { Engine } = await import("@wenxin/engine");
  const maxStreams = Math.max(...r.streams);
  const engine = await Engine.load(r.model, {
    threads: r.threads,
    weights: r.weights as "bf16",
    maxContext: 1024,
    maxSequences: maxStreams,
    kvCacheTokens: Math.max(maxStreams * (PROMPT + r.genTokens + 32), 4 * 1024),
  });
  const stream: Stream = async (inputIds, maxNewTokens) => {
    let firstAt = 0;
    let count = 0;
    for await (const ev of engine.generate({ inputIds, maxNewTokens, temperature: 0, ignoreEos: true }))
      if (ev.type === "token" && ev.tokenIds.length > 0) {
        if (count === 0) firstAt = performance.now();
        count += ev.tokenIds.length;
      }
    return { firstAt, count };
  };
  const result: ConcurrencyMeasurement = { aggregate: await aggregate(r, stream) };
  if (r.prefix) {
    // Three system prompts: each first request is a miss; a second question after it hits the cache.
    const miss: number[] = [],
      hit: number[] = [];
    for (let k = 0; k < 3; k++) {
      const system = syntheticTokens(SYSTEM, r.vocab, 1000 + k);
      const ttft = async (question: number) => {
        const start = performance.now();
        const { firstAt } = await stream([...system, ...syntheticTokens(PROMPT, r.vocab, question)], 1);
        return firstAt - start;
      };
      miss.push(await ttft(2000 + k));
      hit.push(await ttft(3000 + k));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    result.prefix = { system_tokens: SYSTEM, question_tokens: PROMPT, miss_ms: median(miss), hit_ms: median(hit) };
  }
  await engine.close();
  return result;
}

async function measureLlama(r: ConcurrencyRequest): Promise<ConcurrencyMeasurement> {
  await restrictLlamaVariant();
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, maxThreads: r.threads });
  const variant = loadedLlamaVariant();
  const model = await llama.loadModel({ modelPath: r.model, gpuLayers: 0 });
  const maxStreams = Math.max(...r.streams);
  // contextSize is per sequence; the batch holds one decode token of every sequence, or a prompt.
  const context = await model.createContext({
    contextSize: PROMPT + r.genTokens + 32,
    sequences: maxStreams,
    batchSize: Math.max(512, maxStreams),
    threads: r.threads,
  });
  const free = Array.from({ length: maxStreams }, () => context.getSequence());
  const stream: Stream = async (prompt, n) => {
    const sequence = free.pop()!;
    try {
      return await llamaGreedy(sequence, prompt, n);
    } finally {
      free.push(sequence);
    }
  };
  const result: ConcurrencyMeasurement = { aggregate: await aggregate(r, stream), llama_variant: variant };
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  return result;
}

runMeasurementChild((r: ConcurrencyRequest) => (r.engine === "wenxin" ? measureWenxin(r) : measureLlama(r)));
