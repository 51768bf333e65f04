#!/usr/bin/env node
// The `wenxin-bench` command (`pnpm bench` in the repository): it reads the repository's fixtures and the
// released configs beside it, so it is a tool of the repository, not of the published `wenxin` command.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { systemInfo, WenxinError } from "@wenxin/engine";

import { benchModels, formatReport, runBench, type WeightsFormat } from "./bench.js";
import { formatConcurrencyReport, runConcurrencyBench } from "./concurrency.js";
import { formatLongPromptReport, runLongPromptBench, type LongPromptKv } from "./long_prompt.js";
import { measureQuality } from "./quality.js";
import { LLAMA_VARIANT_ENV, LLAMA_VARIANT_FOR_ISA } from "./llama_variant.js";
import { restrictTorchIsa } from "./torch_isa.js";
import { formatTrainingReport, runTrainingBench } from "./training.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

const USAGE = `Usage: wenxin-bench [--models 0.3B,moe,21B-A3B] [--formats bf16,q8,q4] [--threads 2] [--repeats 3] [--moe-layers 4] [--json]
       wenxin-bench --prompt-tokens 4096,16384 [--kv f32,int8] [--models 0.3B] [--formats q4] [--threads 2] [--json]
       wenxin-bench --quality [--json]
       wenxin-bench --concurrency [--formats bf16,q8,q4] [--streams 1,4,16,64] [--gen-tokens 64] [--threads 2] [--json]
       wenxin-bench --training [--formats bf16,q4] [--compute float32,bf16] [--torch-dtypes float32,bfloat16] [--batches 1,4] [--steps 3] [--threads 2] [--python PATH] [--json]

Builds random-weight models of the released ERNIE 4.5 shapes (cached in .bench/), writes the same weights
as GGUF (moe: a slice of --moe-layers layers of ERNIE-4.5-21B-A3B; 21B-A3B: all of it, written straight as a
q4 checkpoint and a Q4_0 GGUF, ~12 GB each, q4 only), and measures wenxin.js and llama.cpp (node-llama-cpp) side by side: pp512, tg128 (each engine
at its best thread count), time to first token for a 512-token prompt, peak RSS, and % of the batch-1
decode roofline from the bandwidth measured in the same run. --quality prints top-1 agreement and KL of
every weight format (and KV cache precision) against the float32 goldens of the fixture models.
--prompt-tokens measures long prompts instead: prompt tokens / time to the first token and TTFT of one
prompt of each length, per KV cache precision (--kv: wenxin f32 and int8 against llama.cpp's F32 and Q8_0
caches, flash attention on), at --threads threads, one run each (default model 0.3B, format q4).
--concurrency measures aggregate tokens/s of concurrent greedy streams on the ERNIE-4.5-0.3B shape against
node-llama-cpp with one context of as many sequences, and the time to first token behind a cached
500-token system prompt.
--training measures tokens/s and peak RSS of whole LoRA training steps (r 16 on q_proj/v_proj, sequence 512)
on the ERNIE-4.5-0.3B shape against PyTorch + peft (float32 and bfloat16 bases) from a Python (--python, else
a virtual environment it sets up in .bench/ with torch 2.13 CPU, transformers 5.17, peft 0.21); --compute
lists the trainer's computeDtype for our rows (float32: exact products; bf16: bf16 products as PyTorch's
bfloat16 base), --torch-dtypes PyTorch's bases.

  --configs DIR   released config.json files (default ../shared/configs)
  --isa PATH      force our kernel path (generic|avx2|avxvnni|avx512|amx, as WENXIN_ISA) and restrict llama.cpp
                  to node-llama-cpp's CPU build of the same level (x64, haswell, alderlake, icelake; amx: its
                  own choice), and --training's PyTorch to that level (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA,
                  MKL_ENABLE_INSTRUCTIONS); every row names both. A path this CPU cannot run is an error.`;

function numberOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${value}'`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      models: { type: "string" },
      formats: { type: "string" },
      threads: { type: "string" },
      repeats: { type: "string" },
      "moe-layers": { type: "string" },
      configs: { type: "string" },
      json: { type: "boolean" },
      quality: { type: "boolean" },
      concurrency: { type: "boolean" },
      "prompt-tokens": { type: "string" },
      kv: { type: "string" },
      streams: { type: "string" },
      "gen-tokens": { type: "string" },
      training: { type: "boolean" },
      compute: { type: "string" },
      "torch-dtypes": { type: "string" },
      batches: { type: "string" },
      steps: { type: "string" },
      python: { type: "string" },
      isa: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.isa !== undefined) {
    if (!Object.hasOwn(LLAMA_VARIANT_FOR_ISA, values.isa))
      throw new Error(`--isa must be one of ${Object.keys(LLAMA_VARIANT_FOR_ISA).join(", ")}, got '${values.isa}'`);
    // Inherited by every measurement child; systemInfo() below refuses a path this CPU cannot run.
    process.env.WENXIN_ISA = values.isa;
    const variant = LLAMA_VARIANT_FOR_ISA[values.isa];
    if (variant) process.env[LLAMA_VARIANT_ENV] = variant;
    else delete process.env[LLAMA_VARIANT_ENV];
    restrictTorchIsa(process.env, values.isa);
    systemInfo();
  }
  const fixtures = path.join(root, "test/fixtures/ernie45");
  if (values.quality) {
    const rows = [];
    for (const model of ["tiny-ernie45-dense", "tiny-ernie45-moe"])
      for (const w of ["bf16", "q8", "q4", "fp8"] as const) rows.push(await measureQuality(fixtures, model, w));
    // KV cache precisions, on exact weights so only the cache's error shows.
    for (const model of ["tiny-ernie45-dense", "tiny-ernie45-moe"])
      for (const kv of ["bf16", "int8"] as const) rows.push(await measureQuality(fixtures, model, "bf16", 2, kv));
    if (values.json) console.log(JSON.stringify({ quality: rows }, null, 1));
    else {
      console.log(
        "| model | weights | KV cache (bytes/token) | positions | top-1 | mean KL | max |Δlogit| |\n|---|---|---|---|---|---|---|",
      );
      for (const r of rows)
        console.log(
          `| ${r.model} | ${r.weights} | ${r.kvCache} (${r.kvBytesPerToken}) | ${r.positions} | ${(r.top1 * 100).toFixed(1)}% | ${r.meanKl.toExponential(2)} | ${r.maxAbsDiff.toExponential(2)} |`,
        );
    }
    return 0;
  }
  if (values.training) {
    const [small] = benchModels(values.configs ?? path.resolve(root, "../shared/configs"));
    const report = await runTrainingBench({
      model: small!,
      cacheDir: path.join(root, ".bench"),
      fixtureDir: path.join(fixtures, "tiny-ernie45-dense"),
      batches: (values.batches ?? "1,4").split(",").map(Number),
      seq: 512,
      steps: numberOption(values.steps, "steps") ?? 3,
      threads: numberOption(values.threads, "threads") ?? 2,
      formats: (values.formats ?? "bf16,q4").split(",") as WeightsFormat[],
      computeDtypes: (values.compute ?? "float32,bf16").split(",") as ("float32" | "bf16")[],
      torchDtypes: (values["torch-dtypes"] ?? "float32,bfloat16").split(",") as ("float32" | "bfloat16")[],
      python: values.python,
      log: (l) => console.error(l),
    });
    console.log(values.json ? JSON.stringify(report, null, 1) : formatTrainingReport(report));
    return 0;
  }
  if (values.concurrency) {
    const [small] = benchModels(values.configs ?? path.resolve(root, "../shared/configs"));
    const report = await runConcurrencyBench({
      model: small!,
      formats: (values.formats ?? "bf16,q8,q4").split(",") as WeightsFormat[],
      threads: numberOption(values.threads, "threads") ?? 2,
      streams: (values.streams ?? "1,4,16,64").split(",").map(Number),
      genTokens: numberOption(values["gen-tokens"], "gen-tokens") ?? 64,
      cacheDir: path.join(root, ".bench"),
      fixtureDir: path.join(fixtures, "tiny-ernie45-dense"),
      log: (l) => console.error(l),
    });
    console.log(values.json ? JSON.stringify(report, null, 1) : formatConcurrencyReport(report));
    return 0;
  }
  const longPrompts = values["prompt-tokens"] !== undefined;
  const wanted = (values.models ?? (longPrompts ? "0.3B" : "0.3B,moe")).split(",");
  const models = benchModels(
    values.configs ?? path.resolve(root, "../shared/configs"),
    numberOption(values["moe-layers"], "moe-layers") ?? 4,
  ).filter(
    (m) =>
      (wanted.includes("0.3B") && m.name === "ERNIE-4.5-0.3B") ||
      (wanted.includes("moe") && m.name.includes("slice")) ||
      (wanted.includes("21B-A3B") && m.name === "ERNIE-4.5-21B-A3B"),
  );
  if (longPrompts) {
    const promptTokens = values["prompt-tokens"]!.split(",").map(Number);
    if (promptTokens.some((n) => !Number.isInteger(n) || n < 1))
      throw new Error(`--prompt-tokens must be positive integers, got '${values["prompt-tokens"]}'`);
    const kv = (values.kv ?? "f32,int8").split(",");
    if (kv.some((k) => k !== "f32" && k !== "int8")) throw new Error(`--kv takes f32 and int8, got '${values.kv}'`);
    const report = await runLongPromptBench({
      models,
      formats: (values.formats ?? "q4").split(",") as WeightsFormat[],
      kv: kv as LongPromptKv[],
      promptTokens,
      threads: numberOption(values.threads, "threads") ?? 2,
      cacheDir: path.join(root, ".bench"),
      fixtureDir: path.join(fixtures, "tiny-ernie45-dense"),
      log: (l) => console.error(l),
    });
    console.log(values.json ? JSON.stringify(report, null, 1) : formatLongPromptReport(report));
    return 0;
  }
  const report = await runBench({
    models,
    formats: (values.formats ?? "bf16,q8,q4").split(",") as WeightsFormat[],
    threads: numberOption(values.threads, "threads") ?? 2,
    repeats: numberOption(values.repeats, "repeats") ?? 3,
    cacheDir: path.join(root, ".bench"),
    fixtureDir: path.join(fixtures, "tiny-ernie45-dense"),
    log: (l) => console.error(l),
  });
  console.log(values.json ? JSON.stringify(report, null, 1) : formatReport(report));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof WenxinError) console.error(`wenxin-bench: ${err.message} (${err.code})`);
    else console.error(`wenxin-bench: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    process.exitCode = 1;
  },
);
