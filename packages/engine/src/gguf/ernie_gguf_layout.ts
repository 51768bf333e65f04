/**
 * How an ERNIE 4.5 checkpoint is laid out as GGUF, the way llama.cpp's converter writes it
 * (`ernie4_5` / `ernie4_5-moe`): which tensor each checkpoint tensor becomes, in which shape,
 * and the architecture metadata. Used by `wenxin convert`, the benchmarks' random models and the
 * GGUF loader's hparams (the reverse direction lives in gguf_model.ts).
 */
import type { NativeHparams } from "../native/addon_types.js";
import type { GgufValue } from "./gguf_writer.js";

export type GgufTensorKind = "matrix" | "norm" | "router" | "bias";

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

/**
 * transformers' rule for which layers are MoE. llama.cpp has no key for the end index (equal to the
 * last layer in released models); we write it as `{arch}.moe_layer_end_index` (MOE_LAYER_END_KEY).
 */
export function isMoeLayer(hp: NativeHparams, layer: number): boolean {
  if (hp.moeNumExperts <= 0) return false;
  const end = hp.moeLayerEndIndex < 0 ? hp.numHiddenLayers - 1 : hp.moeLayerEndIndex;
  return layer >= hp.moeLayerStartIndex && layer <= end && (layer + 1) % hp.moeLayerInterval === 0;
}

/** Every tensor of the GGUF file, in the order llama.cpp's converter writes them. */
export function ggufTensorPlan(hp: NativeHparams): GgufTensorPlanEntry[] {
  const H = hp.hiddenSize;
  const q = hp.numAttentionHeads * hp.headDim,
    kv = hp.numKeyValueHeads * hp.headDim;
  const plan: GgufTensorPlanEntry[] = [
    { hf: "model.embed_tokens.weight", gguf: "token_embd.weight", shape: [hp.vocabSize, H], kind: "matrix" },
    { hf: "model.norm.weight", gguf: "output_norm.weight", shape: [H], kind: "norm" },
  ];
  if (!hp.tieWordEmbeddings)
    plan.push({ hf: "lm_head.weight", gguf: "output.weight", shape: [hp.vocabSize, H], kind: "matrix" });
  for (let l = 0; l < hp.numHiddenLayers; l++) {
    const p = `model.layers.${l}.`,
      g = `blk.${l}.`;
    plan.push(
      { hf: p + "input_layernorm.weight", gguf: g + "attn_norm.weight", shape: [H], kind: "norm" },
      { hf: p + "self_attn.q_proj.weight", gguf: g + "attn_q.weight", shape: [q, H], kind: "matrix" },
      { hf: p + "self_attn.k_proj.weight", gguf: g + "attn_k.weight", shape: [kv, H], kind: "matrix" },
      { hf: p + "self_attn.v_proj.weight", gguf: g + "attn_v.weight", shape: [kv, H], kind: "matrix" },
      { hf: p + "self_attn.o_proj.weight", gguf: g + "attn_output.weight", shape: [H, q], kind: "matrix" },
      { hf: p + "post_attention_layernorm.weight", gguf: g + "ffn_norm.weight", shape: [H], kind: "norm" },
    );
    if (!isMoeLayer(hp, l)) {
      const I = hp.intermediateSize;
      plan.push(
        { hf: p + "mlp.gate_proj.weight", gguf: g + "ffn_gate.weight", shape: [I, H], kind: "matrix" },
        { hf: p + "mlp.up_proj.weight", gguf: g + "ffn_up.weight", shape: [I, H], kind: "matrix" },
        { hf: p + "mlp.down_proj.weight", gguf: g + "ffn_down.weight", shape: [H, I], kind: "matrix" },
      );
      continue;
    }
    const E = hp.moeNumExperts,
      MI = hp.moeIntermediateSize,
      S = MI * hp.moeNumSharedExperts;
    plan.push(
      { hf: p + "mlp.gate.weight", gguf: g + "ffn_gate_inp.weight", shape: [E, H], kind: "router" },
      { hf: p + "mlp.moe_statics.e_score_correction_bias", gguf: g + "exp_probs_b.bias", shape: [E], kind: "bias" },
    );
    for (const [proj, name, shape] of [
      ["gate_proj", "ffn_gate_exps", [MI, H]],
      ["up_proj", "ffn_up_exps", [MI, H]],
      ["down_proj", "ffn_down_exps", [H, MI]],
    ] as const) {
      const parts = Array.from({ length: E }, (_, e) => `${p}mlp.experts.${e}.${proj}.weight`);
      plan.push({ hf: "", gguf: `${g}${name}.weight`, shape: [E, ...shape], kind: "matrix", parts });
    }
    if (S > 0)
      plan.push(
        {
          hf: p + "mlp.shared_experts.gate_proj.weight",
          gguf: g + "ffn_gate_shexp.weight",
          shape: [S, H],
          kind: "matrix",
        },
        { hf: p + "mlp.shared_experts.up_proj.weight", gguf: g + "ffn_up_shexp.weight", shape: [S, H], kind: "matrix" },
        {
          hf: p + "mlp.shared_experts.down_proj.weight",
          gguf: g + "ffn_down_shexp.weight",
          shape: [H, S],
          kind: "matrix",
        },
      );
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
      value: hp.moeLayerEndIndex < 0 ? hp.numHiddenLayers - 1 : hp.moeLayerEndIndex,
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
