/**
 * The one description of an ERNIE 4.5 checkpoint's layout on the TypeScript side: the tensor names
 * transformers uses and their shapes, which layers are MoE (transformers' rule), and Baidu's
 * `ernie.` prefix. GGUF conversion (ernie_gguf_layout.ts), the LoRA module lists, PEFT, the
 * benchmarks' random models and the test helpers derive from it. The tensor names themselves are
 * the table in native/src/model/ernie4_5/tensor_names.json, which the native loader and GGUF reader compile in.
 */
import { createRequire } from "node:module";

import { z } from "zod";

import { WenxinError } from "../errors.js";
import type { ModelConfig } from "./config.js";

type Hparams = ModelConfig["hparams"];

/**
 * A tensor or module name in transformers' spelling: Baidu's remote-code checkpoints name `ernie.…`
 * what transformers names `model.…` (the table's `remoteCodePrefix`).
 */
export function canonicalTensorName(name: string): string {
  const { hf, remoteCode } = tensorNameTable().remoteCodePrefix;
  return name.startsWith(remoteCode) ? `${hf}${name.slice(remoteCode.length)}` : name;
}

/** The last MoE layer (transformers' moe_layer_end_index; -1 means the last layer). */
export function moeLayerEnd(hp: Hparams): number {
  return hp.moeLayerEndIndex < 0 ? hp.numHiddenLayers - 1 : hp.moeLayerEndIndex;
}

/** transformers' rule: layer l is MoE when (l+1) % interval == 0 and start <= l <= end. */
export function isMoeLayer(hp: Hparams, layer: number): boolean {
  if (hp.moeNumExperts <= 0) return false;
  return (layer + 1) % hp.moeLayerInterval === 0 && layer >= hp.moeLayerStartIndex && layer <= moeLayerEnd(hp);
}

/** matrix: a 2-D weight; norm: an RMSNorm scale; router: the MoE gate; bias: the router's score correction. */
export type TensorKind = "matrix" | "norm" | "router" | "bias";

export interface CheckpointTensor {
  /** transformers' name, e.g. "model.layers.0.self_attn.q_proj.weight". */
  name: string;
  shape: number[];
  kind: TensorKind;
  layer?: number;
  /** Routed expert index (`mlp.experts.{e}.…`). */
  expert?: number;
  /** The GGUF tensor it goes into ("blk.0.attn_q.weight"; the routed experts of a layer share one). */
  gguf?: string;
}

const SYMBOLS = ["vocab", "hidden", "q", "kv", "ffn", "experts"] as const;
const entrySchema = z.object({
  hf: z.string().min(1),
  gguf: z.string().min(1),
  kind: z.enum(["matrix", "norm", "router", "bias"]),
  /** Which MLP a layer entry belongs to: the dense one, the MoE router, the routed or the shared experts. */
  mlp: z.enum(["dense", "moe", "experts", "shared"]).optional(),
  embedding: z.boolean().optional(),
  /** The output head: absent from a checkpoint whose head is tied to the embedding. */
  head: z.boolean().optional(),
  shape: z.array(z.union([z.number().int().positive(), z.enum(SYMBOLS)])),
});
const tableSchema = z.object({
  global: z.array(entrySchema),
  layerPrefix: z.object({ hf: z.string().min(1), gguf: z.string().min(1) }),
  remoteCodePrefix: z.object({ hf: z.string().min(1), remoteCode: z.string().min(1) }),
  /** Projections some exports stack row-wise into one matrix of the same module (parts in row order). */
  fused: z.array(z.object({ hf: z.string().min(1), parts: z.array(z.string().min(1)).min(2) })),
  /** transformers 5's stacked expert parameters under each MoE layer's `module` (parts: each expert's projections, in row order). */
  expertParameters: z.object({
    module: z.string().min(1),
    parameters: z.array(z.object({ hf: z.string().min(1), parts: z.array(z.string().min(1)).min(1) })).min(1),
  }),
  layer: z.array(entrySchema),
});

/** One entry of the tensor-name table. */
export type TensorNameEntry = z.infer<typeof entrySchema>;
export type TensorNameTable = z.infer<typeof tableSchema>;

let table: TensorNameTable | undefined;

/**
 * The ERNIE 4.5 tensor-name table (native/src/model/ernie4_5/tensor_names.json, which the native
 * loader compiles in): transformers' and llama.cpp's names of every tensor, its kind and shape.
 */
export function tensorNameTable(): TensorNameTable {
  if (table) return table;
  let raw: unknown;
  try {
    raw = createRequire(import.meta.url)("@wenxin/native/ernie45_tensor_names.json");
  } catch (err) {
    throw new WenxinError(
      "ERR_WENXIN_NATIVE_UNAVAILABLE",
      `the ERNIE tensor-name table of @wenxin/native cannot be read: ${(err as Error).message}`,
      {},
      { cause: err },
    );
  }
  return (table = tableSchema.parse(raw));
}

/** The module `path` of decoder layer `layer` in transformers' spelling ("model.layers.3.self_attn"). */
export function layerModule(layer: number, path: string): string {
  return `${tensorNameTable().layerPrefix.hf}${layer}.${path}`;
}

/** The width the symbol `ffn` stands for in an entry of `mlp`. */
function ffnWidth(hp: Hparams, mlp: TensorNameEntry["mlp"]): number {
  if (mlp === "dense") return hp.intermediateSize;
  return mlp === "shared" ? hp.moeIntermediateSize * hp.moeNumSharedExperts : hp.moeIntermediateSize;
}

/** An entry's shape for `hp`: the table's symbols resolved. */
export function tensorShape(hp: Hparams, entry: TensorNameEntry): number[] {
  return entry.shape.map((d) => {
    if (typeof d === "number") return d;
    switch (d) {
      case "vocab":
        return hp.vocabSize;
      case "hidden":
        return hp.hiddenSize;
      case "q":
        return hp.numAttentionHeads * hp.headDim;
      case "kv":
        return hp.numKeyValueHeads * hp.headDim;
      case "ffn":
        return ffnWidth(hp, entry.mlp);
      case "experts":
        return hp.moeNumExperts;
    }
  });
}

/** The output head's tensor ("lm_head.weight"), whether or not the checkpoint ties it to the embedding. */
export function headTensor(hp: Hparams): CheckpointTensor {
  const head = tensorNameTable().global.find((g) => g.head)!;
  return { name: tensorName(head, head.hf), shape: tensorShape(hp, head), kind: head.kind };
}

/** A checkpoint tensor's name: NAME.weight, or NAME for a bias (the router's score correction). */
function tensorName(entry: TensorNameEntry, name: string): string {
  return entry.kind === "bias" ? name : `${name}.weight`;
}

/**
 * Every tensor of a transformers-layout checkpoint for `hp`, in llama.cpp's converter order (the
 * table's): embedding, final norm, untied head, then per layer the attention, and a dense MLP or the
 * router, its bias, the routed experts (by projection, then expert) and the shared experts.
 */
export function checkpointTensors(hp: Hparams): CheckpointTensor[] {
  const names = tensorNameTable();
  const out: CheckpointTensor[] = [];
  for (const g of names.global)
    if (!(g.head && hp.tieWordEmbeddings))
      out.push({ name: tensorName(g, g.hf), shape: tensorShape(hp, g), kind: g.kind });
  for (let layer = 0; layer < hp.numHiddenLayers; layer++) {
    const moe = isMoeLayer(hp, layer);
    for (const e of names.layer) {
      if (e.mlp === "dense" ? moe : e.mlp !== undefined && !moe) continue;
      if (e.mlp === "shared" && hp.moeNumSharedExperts <= 0) continue;
      const name = tensorName(e, layerModule(layer, e.hf));
      const gguf = `${names.layerPrefix.gguf}${layer}.${e.gguf}${e.kind === "bias" ? ".bias" : ".weight"}`;
      if (e.mlp !== "experts") {
        out.push({ name, shape: tensorShape(hp, e), kind: e.kind, layer, gguf });
        continue;
      }
      for (let expert = 0; expert < hp.moeNumExperts; expert++)
        out.push({
          name: name.replace("*", String(expert)),
          shape: tensorShape(hp, e),
          kind: e.kind,
          layer,
          expert,
          gguf,
        });
    }
  }
  return out;
}

/**
 * Where each matrix of `tensors` sits in a fused export of its module (the table's `fused`:
 * qkv_proj = [q; k; v], up_gate_proj = [gate; up]): the fused tensor's name and its first row.
 */
export function fusedExportRows(tensors: readonly CheckpointTensor[]): Map<string, { name: string; row: number }> {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const out = new Map<string, { name: string; row: number }>();
  for (const f of tensorNameTable().fused)
    for (const t of tensors) {
      const [module, leaf] = splitModule(t.name);
      if (leaf !== f.parts[0]) continue;
      const parts = f.parts.map((p) => byName.get(`${module}.${p}.weight`));
      if (parts.some((p) => p === undefined)) continue;
      let row = 0;
      for (const p of parts) {
        out.set(p!.name, { name: `${module}.${f.hf}.weight`, row });
        row += p!.shape[0]!;
      }
    }
  return out;
}

/** "model.layers.0.self_attn" and "q_proj" of "model.layers.0.self_attn.q_proj.weight". */
function splitModule(name: string): [string, string] {
  const m = name.replace(/\.weight$/, "");
  const dot = m.lastIndexOf(".");
  return [m.slice(0, dot), m.slice(dot + 1)];
}

/** Parameters of a checkpoint for `hp` (the embedding once when tied). */
export function parameterCount(hp: Hparams): number {
  return checkpointTensors(hp).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
}
