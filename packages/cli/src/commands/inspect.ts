import { stat } from "node:fs/promises";
import path from "node:path";

import { LOAD_DEFAULTS, type ModelConfig } from "@wenxin/engine";
import {
  isGgufPath,
  kvCacheTokensFor,
  loadGgufModel,
  loadModelConfig,
  readSafetensorsHeader,
  resolveWeightFiles,
} from "@wenxin/engine/internal";

import { numberOption, parseCommandArgs, type Command } from "./command.js";

const USAGE = `Usage: wenxin inspect (--model DIR | FILE.safetensors | FILE.gguf) [options]

Describes a checkpoint without loading it: architecture, tensor shapes, parameter count,
dtypes and a memory estimate. Only file headers are read.

Options:
  --model DIR          checkpoint directory (config.json + safetensors); a positional DIR works too
  --tensors            list every tensor (name, dtype, shape)
  --max-context N      context for the KV-cache estimate (default ${LOAD_DEFAULTS.maxContext})
  --kv-cache-tokens N  KV cache budget for the estimate (default ${LOAD_DEFAULTS.kvCacheContexts} × max-context, as the engine)
  --json               machine-readable output`;

interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  bytes: number;
  file: string;
}

export interface CheckpointSummary {
  source: string;
  architecture?: string;
  modelType?: string;
  hparams?: ModelConfig["hparams"];
  files: { path: string; bytes: number }[];
  tensors: number;
  /** Parameters the engine uses (the multi-token-prediction `mtp` tensors, which it skips, left out). */
  parameters: number;
  /** Tensors in the files that the engine does not load. */
  skipped: { tensors: number; parameters: number };
  /** Parameters used per token (MoE: only k of the routed experts). */
  activeParameters: number;
  dtypes: Record<string, { tensors: number; parameters: number; bytes: number }>;
  memory: {
    weightBytes: number;
    kvBytesPerToken?: number;
    kvCacheTokens?: number;
    kvCacheBytes?: number;
    totalBytes: number;
  };
  tensorList?: Omit<TensorInfo, "file">[];
}

/** A safetensors file's tensors, from its header (the engine's reader: every byte range checked). */
async function safetensorsTensors(file: string): Promise<TensorInfo[]> {
  const { tensors } = await readSafetensorsHeader(file);
  return [...tensors.values()].map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: t.shape,
    bytes: t.end - t.begin,
    file,
  }));
}

const elements = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export async function summarizeCheckpoint(
  target: string,
  opts: { maxContext?: number; kvCacheTokens?: number; listTensors?: boolean } = {},
): Promise<CheckpointSummary> {
  const isDir = (await stat(target).catch(() => undefined))?.isDirectory() ?? false;
  // A GGUF file carries its own hyper-parameters; its tensor shapes are reported in PyTorch order.
  const gguf = !isDir && isGgufPath(target) ? loadGgufModel(target) : undefined;
  const config = gguf?.config ?? (isDir ? await loadModelConfig(target) : undefined);
  const files = isDir ? await resolveWeightFiles(target) : [target];
  const tensors = gguf
    ? gguf.file.tensors.map((t) => ({
        name: t.name,
        dtype: t.typeName,
        shape: [...t.dims].reverse(),
        bytes: t.bytes ?? 0,
        file: target,
      }))
    : (await Promise.all(files.map(safetensorsTensors))).flat();

  const dtypes: CheckpointSummary["dtypes"] = {};
  let parameters = 0;
  let expertParameters = 0;
  const skipped = { tensors: 0, parameters: 0 };
  for (const t of tensors) {
    const n = elements(t.shape);
    if (/(^|\.)mtp[._]/.test(t.name)) {
      skipped.tensors++;
      skipped.parameters += n;
      continue;
    }
    parameters += n;
    if (/\.experts\.\d+\.|_exps\./.test(t.name)) expertParameters += n;
    const d = (dtypes[t.dtype] ??= { tensors: 0, parameters: 0, bytes: 0 });
    d.tensors++;
    d.parameters += n;
    d.bytes += t.bytes;
  }
  const hp = config?.hparams;
  const activeParameters =
    hp && hp.moeNumExperts > 0
      ? parameters - expertParameters + (expertParameters * hp.moeK) / hp.moeNumExperts
      : parameters;

  const weightBytes = Object.values(dtypes).reduce((sum, d) => sum + d.bytes, 0);
  const memory: CheckpointSummary["memory"] = { weightBytes, totalBytes: weightBytes };
  if (hp) {
    // The engine keeps K and V in float32 for every layer by default; its budget is kvCacheTokensFor's.
    const maxContext = Math.min(opts.maxContext ?? LOAD_DEFAULTS.maxContext, hp.maxPositionEmbeddings);
    memory.kvBytesPerToken = 2 * hp.numHiddenLayers * hp.numKeyValueHeads * hp.headDim * 4;
    memory.kvCacheTokens = kvCacheTokensFor(opts, maxContext);
    memory.kvCacheBytes = memory.kvBytesPerToken * memory.kvCacheTokens;
    memory.totalBytes += memory.kvCacheBytes;
  }
  return {
    source: path.resolve(target),
    ...(config
      ? { architecture: config.architecture, modelType: config.hparams.modelType, hparams: config.hparams }
      : {}),
    files: await Promise.all(files.map(async (f) => ({ path: f, bytes: (await stat(f)).size }))),
    tensors: tensors.length,
    parameters,
    skipped,
    activeParameters: Math.round(activeParameters),
    dtypes,
    memory,
    ...(opts.listTensors ? { tensorList: tensors.map(({ file: _f, ...t }) => t) } : {}),
  };
}

function human(n: number, unit: "B" | ""): string {
  const steps = unit === "B" ? ["B", "KiB", "MiB", "GiB", "TiB"] : ["", "K", "M", "B", "T"];
  const base = unit === "B" ? 1024 : 1000;
  let v = n;
  let i = 0;
  while (v >= base && i < steps.length - 1) {
    v /= base;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(2)}${unit === "B" ? ` ${steps[i]}` : steps[i]}`;
}

export function formatSummary(s: CheckpointSummary): string {
  const rows: [string, string][] = [["source", s.source]];
  const hp = s.hparams;
  if (hp) {
    rows.push(["architecture", `${s.architecture} (${s.modelType})`]);
    rows.push([
      "layers",
      `${hp.numHiddenLayers} × hidden ${hp.hiddenSize}, ${hp.numAttentionHeads} heads / ${hp.numKeyValueHeads} kv heads × head_dim ${hp.headDim}, ffn ${hp.intermediateSize}`,
    ]);
    if (hp.moeNumExperts > 0) {
      const end = hp.moeLayerEndIndex < 0 ? hp.numHiddenLayers - 1 : hp.moeLayerEndIndex;
      rows.push([
        "experts",
        `${hp.moeNumExperts} routed (top-${hp.moeK}, ffn ${hp.moeIntermediateSize}) + ${hp.moeNumSharedExperts} shared, layers ${hp.moeLayerStartIndex}-${end} every ${hp.moeLayerInterval}`,
      ]);
    }
    rows.push([
      "vocabulary",
      `${hp.vocabSize}, context ${hp.maxPositionEmbeddings}, rope theta ${hp.ropeTheta}${hp.tieWordEmbeddings ? ", tied embeddings" : ""}`,
    ]);
  }
  const active = s.activeParameters !== s.parameters ? `, ${human(s.activeParameters, "")} active per token` : "";
  rows.push([
    "parameters",
    `${human(s.parameters, "")} (${s.parameters.toLocaleString("en-US")})${active} in ${s.tensors - s.skipped.tensors} tensors`,
  ]);
  if (s.skipped.tensors > 0)
    rows.push([
      "  skipped",
      `${s.skipped.tensors} mtp tensors (${human(s.skipped.parameters, "")} parameters) the engine does not load`,
    ]);
  for (const [dtype, d] of Object.entries(s.dtypes))
    rows.push([`  ${dtype}`, `${d.tensors} tensors, ${human(d.parameters, "")} parameters, ${human(d.bytes, "B")}`]);
  rows.push([
    "files",
    `${s.files.length}: ${human(
      s.files.reduce((n, f) => n + f.bytes, 0),
      "B",
    )}`,
  ]);
  const m = s.memory;
  rows.push(["memory", `≈ ${human(m.totalBytes, "B")}`]);
  rows.push(["  weights", `${human(m.weightBytes, "B")} (memory-mapped, used in place)`]);
  if (m.kvCacheBytes !== undefined)
    rows.push([
      "  KV cache",
      `${human(m.kvCacheBytes, "B")} at the full budget of ${m.kvCacheTokens} tokens (${human(m.kvBytesPerToken!, "B")} per token, float32)`,
    ]);
  let out = rows.map(([k, v]) => `${k.padEnd(14)} ${v}`).join("\n");
  if (s.tensorList) {
    const width = Math.max(...s.tensorList.map((t) => t.name.length));
    out += `\n\n${s.tensorList.map((t) => `${t.name.padEnd(width)}  ${t.dtype.padEnd(5)} [${t.shape.join(", ")}]`).join("\n")}`;
  }
  return out;
}

export const inspectCommand: Command = {
  summary: "describe a checkpoint: architecture, shapes, parameters, dtypes, memory",
  async run(argv) {
    const positional = argv.length > 0 && !argv[0]!.startsWith("-") ? argv[0] : undefined;
    const { values } = parseCommandArgs(
      positional ? argv.slice(1) : argv,
      {
        model: { type: "string" },
        tensors: { type: "boolean" },
        json: { type: "boolean" },
        "max-context": { type: "string" },
        "kv-cache-tokens": { type: "string" },
      },
      USAGE,
    );
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const target = values.model ?? positional;
    if (!target) {
      console.error(`wenxin inspect: give a checkpoint directory, a .safetensors or a .gguf file\n\n${USAGE}`);
      return 1;
    }
    const summary = await summarizeCheckpoint(target, {
      maxContext: numberOption(values["max-context"], "max-context"),
      kvCacheTokens: numberOption(values["kv-cache-tokens"], "kv-cache-tokens"),
      listTensors: values.tensors,
    });
    console.log(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
    return 0;
  },
};
