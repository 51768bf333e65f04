/**
 * How an ERNIE 4.5 checkpoint is laid out as GGUF, the way llama.cpp's converter writes it
 * (`ernie4_5` / `ernie4_5-moe`): which tensor each checkpoint tensor becomes, in which shape,
 * and the architecture metadata. Used by `wenxin convert`, the benchmarks' random models and the
 * GGUF loader's hparams (the reverse direction lives in gguf_model.ts).
 */
import { checkpointTensors, moeLayerEnd, tensorNameTable, type TensorKind } from "../model/ernie_layout.js";
import type { NativeHparams } from "../native/addon_types.js";
import type { GgufValue } from "./gguf_writer.js";

export type GgufTensorKind = TensorKind;

export interface GgufTensorPlanEntry {
  /** GGUF tensor name ("blk.0.attn_q.weight"). */
  gguf: string;
  /** Checkpoint tensor name; empty for stacked experts (see `parts`). */
  hf: string;
  /** PyTorch-order shape of the GGUF tensor (GGUF stores it reversed). */
  shape: number[];
  kind: GgufTensorKind;
  /** Stacked experts: the checkpoint tensors of experts 0..E-1, stacked on a new leading dim. */
  parts?: string[];
}

/** Our GGUF key for transformers' moe_layer_end_index (llama.cpp has none): `${arch}.${MOE_LAYER_END_KEY}`. */
export const MOE_LAYER_END_KEY = "moe_layer_end_index";

export function ggufArchitecture(hp: NativeHparams): "ernie4_5" | "ernie4_5-moe" {
  return hp.modelType === "ernie4_5_moe" ? "ernie4_5-moe" : "ernie4_5";
}

/** Every tensor of the GGUF file, in the order llama.cpp's converter writes them (see checkpointTensors). */
export function ggufTensorPlan(hp: NativeHparams): GgufTensorPlanEntry[] {
  const plan: GgufTensorPlanEntry[] = [];
  const names = tensorNameTable();
  const tensors = checkpointTensors(hp);
  for (const t of tensors) {
    if (t.layer === undefined) {
      const entry = names.global.find((g) => `${g.hf}.weight` === t.name)!;
      plan.push({ hf: t.name, gguf: `${entry.gguf}.weight`, shape: t.shape, kind: t.kind });
      continue;
    }
    if (t.expert === undefined) {
      // the router's bias is [1, E] in the checkpoint, [E] in GGUF
      const shape = t.kind === "bias" ? t.shape.slice(1) : t.shape;
      plan.push({ hf: t.name, gguf: t.gguf!, shape, kind: t.kind });
      continue;
    }
    if (t.expert !== 0) continue; // experts 0..E-1 stack into one GGUF tensor
    const parts = tensors.filter((p) => p.gguf === t.gguf && p.expert !== undefined).map((p) => p.name);
    plan.push({ hf: "", gguf: t.gguf!, shape: [parts.length, ...t.shape], kind: t.kind, parts });
  }
  return plan;
}

/** The `{arch}.*` keys llama.cpp reads for ERNIE 4.5 (plus general.architecture / name / file_type). */
export function ggufModelMetadata(
  hp: NativeHparams,
  opts: { name?: string; fileType: number },
): Record<string, GgufValue> {
  const arch = ggufArchitecture(hp);
  const m: Record<string, GgufValue> = {
    "general.architecture": { type: "string", value: arch },
    "general.name": { type: "string", value: opts.name ?? "ERNIE 4.5" },
    "general.file_type": { type: "u32", value: opts.fileType },
    [`${arch}.context_length`]: { type: "u32", value: hp.maxPositionEmbeddings },
    [`${arch}.embedding_length`]: { type: "u32", value: hp.hiddenSize },
    [`${arch}.feed_forward_length`]: { type: "u32", value: hp.intermediateSize },
    [`${arch}.block_count`]: { type: "u32", value: hp.numHiddenLayers },
    [`${arch}.attention.head_count`]: { type: "u32", value: hp.numAttentionHeads },
    [`${arch}.attention.head_count_kv`]: { type: "u32", value: hp.numKeyValueHeads },
    [`${arch}.attention.key_length`]: { type: "u32", value: hp.headDim },
    [`${arch}.attention.value_length`]: { type: "u32", value: hp.headDim },
    [`${arch}.rope.freq_base`]: { type: "f32", value: hp.ropeTheta },
    [`${arch}.attention.layer_norm_rms_epsilon`]: { type: "f32", value: hp.rmsNormEps },
  };
  if (hp.moeNumExperts > 0) {
    m[`${arch}.expert_count`] = { type: "u32", value: hp.moeNumExperts };
    m[`${arch}.expert_used_count`] = { type: "u32", value: hp.moeK };
    m[`${arch}.expert_feed_forward_length`] = { type: "u32", value: hp.moeIntermediateSize };
    m[`${arch}.leading_dense_block_count`] = { type: "u32", value: hp.moeLayerStartIndex };
    m[`${arch}.interleave_moe_layer_step`] = { type: "u32", value: hp.moeLayerInterval };
    m[`${arch}.${MOE_LAYER_END_KEY}`] = {
      type: "u32",
      value: moeLayerEnd(hp),
    };
    m[`${arch}.expert_shared_count`] = { type: "u32", value: hp.moeNumSharedExperts };
    // llama.cpp's width of the shared MLP (its own converter guesses it; we know it)
    if (hp.moeNumSharedExperts > 0)
      m[`${arch}.expert_shared_feed_forward_length`] = {
        type: "u32",
        value: hp.moeIntermediateSize * hp.moeNumSharedExperts,
      };
  }
  return m;
}
