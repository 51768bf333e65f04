/**
 * Long prompts: pp (prompt tokens / time to the first token) and TTFT of one N-token prompt, wenxin.js
 * against llama.cpp on the same random-weight model, per weight format and KV cache precision (wenxin
 * f32 ↔ llama.cpp F32, int8 ↔ Q8_0), each measurement in a fresh process (measure.js).
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { systemInfo } from "@wenxin/engine";

import { buildBenchModel, GGUF_TYPE, type BenchModel, type WeightsFormat } from "./bench.js";
import type { LongPromptMeasurement, MeasureRequest } from "./measure.js";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

export type LongPromptKv = "f32" | "int8";
export const LLAMA_KV = { f32: "F32", int8: "Q8_0" } as const;

export interface LongPromptRow {
  model: string;
  weights: WeightsFormat;
  kv: LongPromptKv;
  prompt_tokens: number;
  engine: "wenxin" | "llama.cpp";
  pp_tok_s: number;
  ttft_ms: number;
  rss_mb: number;
}

export interface LongPromptReport {
  cpu: string;
  threads: number;
  kernels: string;
  rows: LongPromptRow[];
}

export interface LongPromptOptions {
  models: BenchModel[];
  formats: WeightsFormat[];
  kv: LongPromptKv[];
  promptTokens: number[];
  threads: number;
  cacheDir: string;
  fixtureDir: string;
  log?: (line: string) => void;
}

async function measureOnce(req: MeasureRequest): Promise<LongPromptMeasurement> {
  const { stdout } = await run(process.execPath, [path.join(here, "measure.js"), JSON.stringify(req)], {
    maxBuffer: 1 << 20,
    timeout: 60 * 60 * 1000,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as LongPromptMeasurement;
}

export async function runLongPromptBench(o: LongPromptOptions): Promise<LongPromptReport> {
  const log = o.log ?? (() => {});
  const info = systemInfo();
  log(`CPU ${info.cpu} (${info.logicalCores} threads), kernels ${info.kernels.active}; ${o.threads} threads`);
  const rows: LongPromptRow[] = [];
  for (const m of o.models) {
    const built = await buildBenchModel(m, o);
    for (const weights of built.formats) {
      const { wenxinDir, ggufFile } = await built.files(weights);
      for (const promptTokens of o.promptTokens)
        for (const kv of o.kv)
          for (const engine of ["wenxin", "llama.cpp"] as const) {
            const x = await measureOnce({
              engine: engine === "wenxin" ? "wenxin" : "llama",
              model: engine === "wenxin" ? wenxinDir : ggufFile,
              weights,
              vocab: m.config.vocab_size,
              threads: o.threads,
              promptTokens,
              kv,
            });
            const row: LongPromptRow = { model: m.name, weights, kv, prompt_tokens: promptTokens, engine, ...x };
            rows.push(row);
            log(
              `${m.name} ${weights} kv ${kv} ${promptTokens} tokens ${engine}: pp ${row.pp_tok_s.toFixed(1)} tok/s, ttft ${row.ttft_ms.toFixed(0)} ms, rss ${row.rss_mb.toFixed(0)} MB`,
            );
          }
    }
  }
  return { cpu: info.cpu, threads: o.threads, kernels: info.kernels.active, rows };
}

/** The markdown table, wenxin beside llama.cpp with the ratio of prompt throughput. */
export function formatLongPromptReport(r: LongPromptReport): string {
  const lines = [
    `CPU: ${r.cpu}; ${r.threads} threads; kernels: ${r.kernels}`,
    "",
    "| model | weights | KV cache | prompt tokens | wenxin pp tok/s | llama.cpp pp tok/s | pp ratio | wenxin TTFT ms | llama.cpp TTFT ms | wenxin RSS MB | llama.cpp RSS MB |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const w of r.rows.filter((x) => x.engine === "wenxin")) {
    const l = r.rows.find(
      (x) =>
        x.engine === "llama.cpp" &&
        x.model === w.model &&
        x.weights === w.weights &&
        x.kv === w.kv &&
        x.prompt_tokens === w.prompt_tokens,
    );
    if (!l) continue;
    lines.push(
      `| ${w.model} | ${w.weights} ↔ ${GGUF_TYPE[w.weights]} | ${w.kv} ↔ ${LLAMA_KV[w.kv]} | ${w.prompt_tokens} | ${w.pp_tok_s.toFixed(1)} | ${l.pp_tok_s.toFixed(1)} | ${(w.pp_tok_s / l.pp_tok_s).toFixed(2)}× | ${w.ttft_ms.toFixed(0)} | ${l.ttft_ms.toFixed(0)} | ${w.rss_mb.toFixed(0)} | ${l.rss_mb.toFixed(0)} |`,
    );
  }
  return lines.join("\n");
}
