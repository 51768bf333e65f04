/**
 * The continuous-batching benchmark: aggregate generated tokens/s of 1, 4, 16 and 64 concurrent greedy
 * streams on one engine, wenxin.js against node-llama-cpp (one context with `sequences`), on the same
 * random-weight model shape, threads and quantization, each engine in its own process; and wenxin's
 * time to first token behind a 500-token system prompt, uncached and cached.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { systemInfo } from "@wenxin/engine";

import { GGUF_TYPE, savedCheckpoint, type BenchModel, type WeightsFormat } from "./bench.js";
import type { ConcurrencyMeasurement, ConcurrencyRequest } from "./concurrency_measure.js";
import { buildRandomModel } from "./random_model.js";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

export interface ConcurrencyOptions {
  model: BenchModel;
  formats: WeightsFormat[];
  threads: number;
  streams: number[];
  genTokens: number;
  cacheDir: string;
  fixtureDir: string;
  log?: (line: string) => void;
}

export interface ConcurrencyRow {
  weights: WeightsFormat;
  streams: number;
  wenxin_tok_s: number;
  llama_tok_s: number;
  /** Our kernel path, and the libggml-cpu variant llama.cpp loaded. */
  isa: string;
  llama_variant: string;
}

export interface ConcurrencyReport {
  cpu: string;
  model: string;
  threads: number;
  gen_tokens: number;
  rows: ConcurrencyRow[];
  prefix: { weights: WeightsFormat; system_tokens: number; miss_ms: number; hit_ms: number }[];
}

async function measure(req: ConcurrencyRequest): Promise<ConcurrencyMeasurement> {
  const { stdout } = await run(process.execPath, [path.join(here, "concurrency_measure.js"), JSON.stringify(req)], {
    maxBuffer: 1 << 20,
    timeout: 30 * 60 * 1000,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as ConcurrencyMeasurement;
}

export async function runConcurrencyBench(o: ConcurrencyOptions): Promise<ConcurrencyReport> {
  const log = o.log ?? (() => {});
  const info = systemInfo();
  log(
    `CPU ${info.cpu} (${info.logicalCores} threads); ${o.model.name}, ${o.threads} threads, ${o.genTokens} tokens per stream`,
  );
  const built = await buildRandomModel(
    o.model.name,
    o.model.config,
    o.cacheDir,
    o.fixtureDir,
    o.formats.map((f) => GGUF_TYPE[f]),
  );
  const rows: ConcurrencyRow[] = [];
  const prefix: ConcurrencyReport["prefix"] = [];
  for (const weights of o.formats) {
    const base = {
      weights,
      threads: o.threads,
      vocab: o.model.config.vocab_size,
      streams: o.streams,
      genTokens: o.genTokens,
    };
    const w = await measure({
      ...base,
      engine: "wenxin",
      model: await savedCheckpoint(built.hfDir, weights, o.threads),
      prefix: true,
    });
    const l = await measure({ ...base, engine: "llama", model: built.gguf[GGUF_TYPE[weights]]! });
    w.aggregate.forEach((a, i) => {
      const row = {
        weights,
        streams: a.streams,
        wenxin_tok_s: a.tok_s,
        llama_tok_s: l.aggregate[i]!.tok_s,
        isa: info.kernels.active,
        llama_variant: l.llama_variant ?? "unknown",
      };
      rows.push(row);
      log(
        `${weights} ${a.streams} streams: wenxin ${row.wenxin_tok_s.toFixed(1)} tok/s, llama.cpp ${row.llama_tok_s.toFixed(1)} tok/s`,
      );
    });
    if (w.prefix) {
      prefix.push({
        weights,
        system_tokens: w.prefix.system_tokens,
        miss_ms: w.prefix.miss_ms,
        hit_ms: w.prefix.hit_ms,
      });
      log(
        `${weights} TTFT behind ${w.prefix.system_tokens} system tokens: ${w.prefix.miss_ms.toFixed(0)} ms uncached, ${w.prefix.hit_ms.toFixed(0)} ms cached`,
      );
    }
  }
  return { cpu: info.cpu, model: o.model.name, threads: o.threads, gen_tokens: o.genTokens, rows, prefix };
}

export function formatConcurrencyReport(r: ConcurrencyReport): string {
  const lines = [
    `CPU: ${r.cpu}; ${r.model}; ${r.threads} threads; each stream: 16-token prompt, ${r.gen_tokens} greedy tokens; kernels: wenxin ${r.rows[0]?.isa ?? "?"}, llama.cpp ${r.rows[0]?.llama_variant ?? "?"}`,
    "",
    "| weights | streams | wenxin tok/s | × own 1 stream | llama.cpp tok/s | × own 1 stream | wenxin / llama.cpp |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const row of r.rows) {
    const one = r.rows.find((x) => x.weights === row.weights && x.streams === 1);
    const scale = (v: number, base: number | undefined) => (base ? `${(v / base).toFixed(2)}×` : "");
    lines.push(
      `| ${row.weights} ↔ ${GGUF_TYPE[row.weights]} | ${row.streams} | ${row.wenxin_tok_s.toFixed(1)} | ${scale(row.wenxin_tok_s, one?.wenxin_tok_s)} | ${row.llama_tok_s.toFixed(1)} | ${scale(row.llama_tok_s, one?.llama_tok_s)} | ${(row.wenxin_tok_s / row.llama_tok_s).toFixed(2)}× |`,
    );
  }
  if (r.prefix.length > 0) {
    lines.push("", "| weights | TTFT, 500-token system prompt uncached | cached | speed-up |", "|---|---|---|---|");
    for (const p of r.prefix)
      lines.push(
        `| ${p.weights} | ${p.miss_ms.toFixed(0)} ms | ${p.hit_ms.toFixed(0)} ms | ${(p.miss_ms / p.hit_ms).toFixed(1)}× |`,
      );
  }
  return lines.join("\n");
}
