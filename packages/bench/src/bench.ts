/**
 * The side-by-side benchmark: wenxin.js and llama.cpp (node-llama-cpp) on the same random-weight
 * model shapes, thread counts and quantization, each measurement in a fresh process, medians of
 * repeats, with the machine's read bandwidth and the batch-1 decode roofline measured in the same run.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { measureReadBandwidth, quantizeModel, systemInfo } from "@wenxin/engine";

import { median } from "./child_protocol.js";
import type { Measurement, MeasureRequest } from "./measure.js";
import { buildRandomModel, tensorSpecs, type HfConfig } from "./random_model.js";
import { buildRandomQ4Model } from "./random_q4_model.js";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

export type WeightsFormat = "bf16" | "q8" | "q4";
export const GGUF_TYPE = { bf16: "F16", q8: "Q8_0", q4: "Q4_0" } as const;
/** Bytes per weight of each format as stored (scales included), for the roofline. */
const BYTES_PER_WEIGHT: Record<WeightsFormat, number> = { bf16: 2, q8: 34 / 32, q4: 18 / 32 };

export interface BenchModel {
  name: string;
  config: HfConfig;
  /** Written straight as a q4 checkpoint and a Q4_0 GGUF (no bf16 copy; q4 only): the full-size MoE shape. */
  q4Only?: boolean;
}

export interface BenchRow {
  model: string;
  weights: WeightsFormat;
  engine: "wenxin" | "llama.cpp";
  pp512_tok_s: number;
  pp_threads: number;
  tg128_tok_s: number;
  tg_threads: number;
  ttft512_ms: number;
  rss_mb: number;
  /** Anonymous memory at the end of a run (Linux RssAnon): the rest of the RSS is mapped from files. */
  rss_anon_mb: number | null;
  /** Load to ready (median, at the pp512 thread count). */
  load_ms: number;
  roofline_pct: number;
  /** Our kernel path in this run (WENXIN_ISA / --isa, else the best the CPU runs). */
  isa: string;
  /** The libggml-cpu variant llama.cpp loaded for this model and format (on both engines' rows). */
  llama_variant: string;
}

export interface BenchReport {
  cpu: string;
  threads: number;
  kernels: string;
  bandwidth_gb_s: { "1": number; "2": number };
  rows: BenchRow[];
}

export interface BenchOptions {
  models: BenchModel[];
  formats: WeightsFormat[];
  threads: number;
  repeats: number;
  cacheDir: string;
  fixtureDir: string;
  log?: (line: string) => void;
}

/**
 * The checkpoint wenxin loads for `weights`: one saved by `wenxin quantize` (memory-mapped, like a
 * GGUF file), so load time and RSS are not those of quantizing at load.
 */
export async function savedCheckpoint(hfDir: string, weights: WeightsFormat, threads: number): Promise<string> {
  if (weights === "bf16") return hfDir;
  const dir = `${hfDir}-${weights}`;
  if (!existsSync(path.join(dir, "model.safetensors"))) await quantizeModel(hfDir, dir, { weights, threads });
  return dir;
}

async function measureOnce(req: MeasureRequest): Promise<Measurement> {
  const { stdout } = await run(process.execPath, [path.join(here, "measure.js"), JSON.stringify(req)], {
    maxBuffer: 1 << 20,
    timeout: 20 * 60 * 1000,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Measurement;
}

/** Weights read per decoded token (every matrix once, the LM head included; experts: the active ones). */
export function bytesPerToken(c: HfConfig, weights: WeightsFormat): number {
  let params = 0;
  for (const s of tensorSpecs(c)) {
    if (s.kind !== "matrix" || s.gguf === "token_embd.weight") continue;
    const numel = s.shape.reduce((a, b) => a * b, 1);
    params += s.parts ? (numel / s.parts.length) * (c.moe_k ?? 0) : numel;
  }
  if (c.tie_word_embeddings !== false) params += c.vocab_size * c.hidden_size; // the tied head is read too
  return params * BYTES_PER_WEIGHT[weights];
}

/**
 * A benchmark model built with random weights (or found in the cache) in the formats it is measured
 * in (a `q4Only` model: q4 alone, written straight as q4 and Q4_0), and where each engine reads it.
 */
export async function buildBenchModel(
  m: BenchModel,
  o: { formats: WeightsFormat[]; cacheDir: string; fixtureDir: string; threads: number },
): Promise<{
  formats: WeightsFormat[];
  files(weights: WeightsFormat): Promise<{ wenxinDir: string; ggufFile: string }>;
}> {
  const formats = m.q4Only ? o.formats.filter((f) => f === "q4") : o.formats;
  const built = m.q4Only
    ? await buildRandomQ4Model(m.name, m.config, o.cacheDir, o.fixtureDir, { tiles: true, threads: o.threads })
    : await buildRandomModel(
        m.name,
        m.config,
        o.cacheDir,
        o.fixtureDir,
        formats.map((f) => GGUF_TYPE[f]),
      );
  return {
    formats,
    files: async (weights) => ({
      wenxinDir: "dir" in built ? built.dir : await savedCheckpoint(built.hfDir, weights, o.threads),
      ggufFile: "dir" in built ? built.gguf : built.gguf[GGUF_TYPE[weights]]!,
    }),
  };
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const log = o.log ?? (() => {});
  const info = systemInfo();
  const bw1 = measureReadBandwidth(1024, 1);
  const bw2 = measureReadBandwidth(1024, Math.min(2, o.threads));
  log(
    `CPU ${info.cpu} (${info.logicalCores} threads), kernels ${info.kernels.active}; read bandwidth ${bw1.toFixed(1)} GB/s (1 thread), ${bw2.toFixed(1)} GB/s (2)`,
  );
  const rows: BenchRow[] = [];
  for (const m of o.models) {
    log(`building ${m.name} (random weights; cached in ${o.cacheDir})`);
    const built = await buildBenchModel(m, o);
    if (built.formats.length < o.formats.length) log(`${m.name}: q4 only (written straight as q4 and Q4_0)`);
    for (const weights of built.formats) {
      const { wenxinDir, ggufFile } = await built.files(weights);
      for (const engine of ["wenxin", "llama.cpp"] as const) {
        const base = {
          engine: engine === "wenxin" ? "wenxin" : "llama",
          model: engine === "wenxin" ? wenxinDir : ggufFile,
          weights,
          vocab: m.config.vocab_size,
        } as const;
        // Every metric at 1 and at `threads` threads; each engine is reported at its best thread
        // count (on 2-vCPU machines one thread is often faster).
        const counts = o.threads > 1 ? [1, o.threads] : [1];
        const byThreads = new Map<number, Measurement[]>();
        for (const threads of counts) {
          const runs: Measurement[] = [];
          for (let r = 0; r < o.repeats; r++) runs.push(await measureOnce({ ...base, threads }));
          byThreads.set(threads, runs);
        }
        const best = (metric: (m: Measurement) => number, higher: boolean) => {
          let pick = { value: higher ? -Infinity : Infinity, threads: counts[0]! };
          for (const [threads, runs] of byThreads) {
            const v = median(runs.map(metric));
            if (higher ? v > pick.value : v < pick.value) pick = { value: v, threads };
          }
          return pick;
        };
        const pp = best((m) => m.pp512_tok_s!, true);
        const tg = best((m) => m.tg128_tok_s, true);
        const ttft = best((m) => m.ttft512_ms!, false);
        const tgBest = tg.value;
        const tgThreads = tg.threads;
        const full = byThreads.get(pp.threads)!;
        const bw = tgThreads === 1 ? bw1 : bw2;
        const variants = new Set([...byThreads.values()].flat().map((x) => x.llama_variant ?? ""));
        variants.delete("");
        const row: BenchRow = {
          model: m.name,
          weights,
          engine,
          pp512_tok_s: pp.value,
          pp_threads: pp.threads,
          tg128_tok_s: tgBest,
          tg_threads: tgThreads,
          ttft512_ms: ttft.value,
          rss_mb: median(full.map((x) => x.rss_mb)),
          rss_anon_mb: full[0]!.rss_anon_mb === null ? null : median(full.map((x) => x.rss_anon_mb!)),
          load_ms: median(full.map((x) => x.load_ms)),
          roofline_pct: (100 * tgBest) / ((bw * 1e9) / bytesPerToken(m.config, weights)),
          isa: info.kernels.active,
          llama_variant: [...variants].join("+"),
        };
        if (engine === "llama.cpp") {
          const partner = rows.find((x) => x.engine === "wenxin" && x.model === m.name && x.weights === weights);
          if (partner) partner.llama_variant = row.llama_variant;
        }
        rows.push(row);
        log(
          `${m.name} ${weights} ${engine}: pp512 ${row.pp512_tok_s.toFixed(1)} tok/s (${row.pp_threads} thr), tg128 ${row.tg128_tok_s.toFixed(1)} tok/s (${tgThreads} thr, ${row.roofline_pct.toFixed(0)}% of roofline), ttft ${row.ttft512_ms.toFixed(0)} ms, load ${row.load_ms.toFixed(0)} ms, rss ${row.rss_mb.toFixed(0)} MB (anonymous ${row.rss_anon_mb?.toFixed(0) ?? "?"} MB)`,
        );
      }
    }
  }
  return {
    cpu: info.cpu,
    threads: o.threads,
    kernels: info.kernels.active,
    bandwidth_gb_s: { "1": bw1, "2": bw2 },
    rows,
  };
}

/** The markdown table with wenxin / llama.cpp ratios. */
export function formatReport(r: BenchReport): string {
  const lines = [
    `CPU: ${r.cpu}; ${r.threads} threads; kernels: ${r.kernels}; read bandwidth ${r.bandwidth_gb_s["1"].toFixed(1)} GB/s (1 thread), ${r.bandwidth_gb_s["2"].toFixed(1)} GB/s (2 threads)`,
    "",
    "| model | weights | engine | pp512 tok/s (threads) | tg128 tok/s (threads) | % roofline | TTFT 512 ms | load ms | peak RSS MB (anonymous at end) |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const row of r.rows)
    lines.push(
      `| ${row.model} | ${row.weights} | ${row.engine === "wenxin" ? `wenxin (${row.isa})` : `llama.cpp (${row.llama_variant})`} | ${row.pp512_tok_s.toFixed(1)} (${row.pp_threads}) | ${row.tg128_tok_s.toFixed(1)} (${row.tg_threads}) | ${row.roofline_pct.toFixed(0)}% | ${row.ttft512_ms.toFixed(0)} | ${row.load_ms.toFixed(0)} | ${row.rss_mb.toFixed(0)} (${row.rss_anon_mb?.toFixed(0) ?? "?"}) |`,
    );
  lines.push(
    "",
    "| model | weights | pp512 ratio | tg128 ratio | TTFT ratio (lower is better) | RSS ratio |",
    "|---|---|---|---|---|---|",
  );
  for (const w of r.rows.filter((x) => x.engine === "wenxin")) {
    const l = r.rows.find((x) => x.engine === "llama.cpp" && x.model === w.model && x.weights === w.weights);
    if (!l) continue;
    lines.push(
      `| ${w.model} | ${w.weights} ↔ ${GGUF_TYPE[w.weights]} | ${(w.pp512_tok_s / l.pp512_tok_s).toFixed(2)}× | ${(w.tg128_tok_s / l.tg128_tok_s).toFixed(2)}× | ${(w.ttft512_ms / l.ttft512_ms).toFixed(2)}× | ${(w.rss_mb / l.rss_mb).toFixed(2)}× |`,
    );
  }
  return lines.join("\n");
}

/**
 * The benchmark shapes: ERNIE-4.5-0.3B whole, a slice of ERNIE-4.5-21B-A3B's real layer shapes, and
 * ERNIE-4.5-21B-A3B whole (all 28 layers; q4 only).
 */
export function benchModels(configsDir: string, moeLayers = 4): BenchModel[] {
  const load = (f: string) => JSON.parse(readFileSync(path.join(configsDir, f), "utf8")) as HfConfig;
  const small = load("ERNIE-4.5-0.3B-PT.json");
  const moe = load("ERNIE-4.5-21B-A3B-PT.json");
  return [
    { name: "ERNIE-4.5-0.3B", config: small },
    { name: `ERNIE-4.5-21B-A3B-slice-${moeLayers}L`, config: { ...moe, num_hidden_layers: moeLayers } },
    { name: "ERNIE-4.5-21B-A3B", config: moe, q4Only: true },
  ];
}
