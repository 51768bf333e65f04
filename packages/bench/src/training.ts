/**
 * The training benchmark: tokens per second of a whole LoRA training step (forward, backward,
 * clipping, AdamW; r 16, alpha 32 on q_proj/v_proj, every token a label) on the ERNIE-4.5-0.3B
 * shape with random weights, wenxin.js (bf16 and q4 bases) against PyTorch + peft (float32 and
 * bfloat16 bases) on the same checkpoint, machine and thread count, each configuration in a fresh
 * process with its peak RSS. PyTorch runs from a virtual environment the benchmark sets up in
 * .bench/ (torch 2.13 CPU, transformers 5.17, peft 0.21) unless one is given.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { systemInfo } from "@wenxin/engine";

import { savedCheckpoint, type BenchModel, type WeightsFormat } from "./bench.js";
import { buildRandomModel } from "./random_model.js";
import type { TrainingMeasureRequest, TrainingMeasurement } from "./training_measure.js";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const TORCH_SCRIPT = path.resolve(here, "../python/torch_train_step.py");
const TORCH_PACKAGES = ["torch==2.13.0+cpu", "transformers==5.17.0", "peft==0.21.0"];
/** The LoRA both engines train (the review's recipe). */
const LORA = { r: 16, alpha: 32, targets: ["q_proj", "v_proj"] };

export interface TrainingBenchOptions {
  model: BenchModel;
  cacheDir: string;
  fixtureDir: string;
  /** Sequences per step. */
  batches: number[];
  seq: number;
  steps: number;
  threads: number;
  formats: WeightsFormat[];
  /** The trainer's computeDtype for each wenxin row. */
  computeDtypes: ("float32" | "bf16")[];
  torchDtypes: ("float32" | "bfloat16")[];
  /** A Python with torch, transformers and peft; default: a virtual environment set up in cacheDir. */
  python?: string;
  log?: (line: string) => void;
}

export interface TrainingRow {
  engine: "wenxin" | "pytorch";
  /** wenxin: bf16 / q8 / q4; PyTorch: float32 / bfloat16. */
  base: string;
  /** wenxin: the trainer's computeDtype; PyTorch: its base dtype. */
  compute: string;
  batch: number;
  tok_s: number;
  step_s: number[];
  /** CPU seconds (all threads) of each timed step: on a shared machine, the work apart from waiting. */
  cpu_s: number[];
  rss_mb: number;
  /** PyTorch: the code path ATen ran at, which `--isa` caps. */
  capability?: string;
}

export interface TrainingReport {
  cpu: string;
  kernels: string;
  threads: number;
  seq: number;
  torch: string;
  rows: TrainingRow[];
}

const TIMEOUT = 60 * 60 * 1000;

async function child(command: string, args: string[]): Promise<TrainingMeasurement> {
  const { stdout } = await run(command, args, { maxBuffer: 1 << 20, timeout: TIMEOUT });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as TrainingMeasurement;
}

/** A Python with the reference stack: the given one, or .bench/torch-venv (created once). */
async function torchPython(o: TrainingBenchOptions): Promise<string> {
  if (o.python) return o.python;
  const venv = path.join(o.cacheDir, "torch-venv");
  const python = path.join(venv, "bin", "python");
  if (!existsSync(python)) {
    o.log?.(`setting up ${venv} (${TORCH_PACKAGES.join(", ")})`);
    await run("python3", ["-m", "venv", venv], { timeout: TIMEOUT });
    await run(
      python,
      ["-m", "pip", "install", "--extra-index-url", "https://download.pytorch.org/whl/cpu", ...TORCH_PACKAGES],
      { timeout: TIMEOUT, maxBuffer: 16 << 20 },
    );
  }
  return python;
}

export async function runTrainingBench(o: TrainingBenchOptions): Promise<TrainingReport> {
  const log = o.log ?? (() => {});
  const info = systemInfo();
  log(`building ${o.model.name} (random weights; cached in ${o.cacheDir})`);
  const built = await buildRandomModel(o.model.name, o.model.config, o.cacheDir, o.fixtureDir, []);
  const python = await torchPython(o);
  const { stdout: torchVersion } = await run(python, ["-c", "import torch; print(torch.__version__)"]);
  const rows: TrainingRow[] = [];
  const measureInChild = async (row: Omit<TrainingRow, keyof TrainingMeasurement>, command: string, args: string[]) => {
    const m = await child(command, args);
    rows.push({ ...row, ...m });
    log(
      `${row.engine} ${row.base} (${row.compute} compute) batch ${row.batch}: ${m.tok_s.toFixed(1)} tok/s, peak RSS ${m.rss_mb.toFixed(0)} MB`,
    );
  };
  for (const batch of o.batches) {
    const step = { batch, seq: o.seq, steps: o.steps, threads: o.threads, ...LORA };
    for (const weights of o.formats)
      for (const computeDtype of o.computeDtypes) {
        const req: TrainingMeasureRequest = {
          ...step,
          model: await savedCheckpoint(built.hfDir, weights, o.threads),
          weights,
          checkpointing: true,
          computeDtype,
        };
        await measureInChild({ engine: "wenxin", base: weights, compute: computeDtype, batch }, process.execPath, [
          path.join(here, "training_measure.js"),
          JSON.stringify(req),
        ]);
      }
    for (const dtype of o.torchDtypes)
      await measureInChild({ engine: "pytorch", base: dtype, compute: dtype, batch }, python, [
        TORCH_SCRIPT,
        JSON.stringify({ ...step, model: built.hfDir, dtype }),
      ]);
  }
  return {
    cpu: info.cpu,
    kernels: info.kernels.active,
    threads: o.threads,
    seq: o.seq,
    torch: torchVersion.trim(),
    rows,
  };
}

/** The markdown table, each wenxin row against PyTorch's best base at that batch size. */
export function formatTrainingReport(r: TrainingReport): string {
  const capabilities = [...new Set(r.rows.flatMap((x) => (x.capability ? [x.capability] : [])))].join(", ");
  const lines = [
    `CPU: ${r.cpu}; ${r.threads} threads; kernels: ${r.kernels}; PyTorch ${r.torch}${capabilities ? ` (${capabilities})` : ""}; sequence ${r.seq}`,
    "",
    "| batch | engine | base | compute | tokens/s | step s (median) | CPU s/step (median) | peak RSS MB | vs PyTorch's best tokens/s | RSS vs PyTorch's best |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const row of r.rows) {
    const torch = r.rows.filter((x) => x.engine === "pytorch" && x.batch === row.batch);
    const best = torch.reduce((a, b) => (b.tok_s > a.tok_s ? b : a), torch[0]!);
    const median = [...row.step_s].sort((a, b) => a - b)[Math.floor(row.step_s.length / 2)]!;
    const cpu = row.cpu_s.length ? [...row.cpu_s].sort((a, b) => a - b)[Math.floor(row.cpu_s.length / 2)]! : NaN;
    const vs = row.engine === "wenxin" && best ? `${(row.tok_s / best.tok_s).toFixed(2)}×` : "";
    const rss = row.engine === "wenxin" && best ? `${(row.rss_mb / best.rss_mb).toFixed(2)}×` : "";
    lines.push(
      `| ${row.batch} | ${row.engine} | ${row.base} | ${row.compute} | ${row.tok_s.toFixed(1)} | ${median.toFixed(2)} | ${cpu.toFixed(2)} | ${row.rss_mb.toFixed(0)} | ${vs} | ${rss} |`,
    );
  }
  return lines.join("\n");
}
