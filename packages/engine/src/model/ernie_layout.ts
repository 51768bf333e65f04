/**
 * The one description of an ERNIE 4.5 checkpoint's layout on the TypeScript side: the tensor names
 * transformers uses and their shapes, which layers are MoE (transformers' rule), and Baidu's
 * `ernie.` prefix. GGUF conversion (ernie_gguf_layout.ts), the LoRA module lists, PEFT, the
 * benchmarks' random models and the test helpers derive from it. The native loader's table is
 * native/src/model/ernie4_5/weights.cpp.
 */
import type { ModelConfig } from "./config.js";

type Hparams = ModelConfig["hparams"];

/** Baidu's remote-code checkpoints name tensors `ernie.…` where transformers says `model.…`. */
export const REMOTE_CODE_PREFIX = "ernie.";

/** A tensor or module name in transformers' spelling (`ernie.layers.0…` → `model.layers.0…`). */
export function canonicalTensorName(name: string): string {
  return name.startsWith(REMOTE_CODE_PREFIX) ? `model.${name.slice(REMOTE_CODE_PREFIX.length)}` : name;
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
}

/** The module `path` of decoder layer `layer` in transformers' spelling ("model.layers.3.self_attn"). */
export function layerModule(layer: number, path: string): string {
  return `model.layers.${layer}.${path}`;
}

/** The MLP projections in the order checkpoints and llama.cpp's GGUF list them. */
export const MLP_PROJECTIONS = ["gate_proj", "up_proj", "down_proj"] as const;

/**
 * Every tensor of a transformers-layout checkpoint for `hp`, in llama.cpp's converter order:
 * embedding, final norm, untied head, then per layer the attention, and a dense MLP or the router,
 * its bias, the routed experts (by projection, then expert) and the shared experts.
 */
export function checkpointTensors(hp: Hparams): CheckpointTensor[] {
  const H = hp.hiddenSize;
  const q = hp.numAttentionHeads * hp.headDim,
    kv = hp.numKeyValueHeads * hp.headDim;
  const out: CheckpointTensor[] = [
    { name: "model.embed_tokens.weight", shape: [hp.vocabSize, H], kind: "matrix" },
    { name: "model.norm.weight", shape: [H], kind: "norm" },
  ];
  if (!hp.tieWordEmbeddings) out.push({ name: "lm_head.weight", shape: [hp.vocabSize, H], kind: "matrix" });
  const mlp = (prefix: string, layer: number, width: number, expert?: number): CheckpointTensor[] =>
    MLP_PROJECTIONS.map((proj) => ({
      name: `${prefix}.${proj}.weight`,
      shape: proj === "down_proj" ? [H, width] : [width, H],
      kind: "matrix",
      layer,
      ...(expert !== undefined ? { expert } : {}),
    }));
  for (let layer = 0; layer < hp.numHiddenLayers; layer++) {
    const p = layerModule(layer, "");
    out.push(
      { name: p + "input_layernorm.weight", shape: [H], kind: "norm", layer },
      { name: p + "self_attn.q_proj.weight", shape: [q, H], kind: "matrix", layer },
      { name: p + "self_attn.k_proj.weight", shape: [kv, H], kind: "matrix", layer },
      { name: p + "self_attn.v_proj.weight", shape: [kv, H], kind: "matrix", layer },
      { name: p + "self_attn.o_proj.weight", shape: [H, q], kind: "matrix", layer },
      { name: p + "post_attention_layernorm.weight", shape: [H], kind: "norm", layer },
    );
    if (!isMoeLayer(hp, layer)) {
      out.push(...mlp(p + "mlp", layer, hp.intermediateSize));
      continue;
    }
    const E = hp.moeNumExperts;
    out.push(
      { name: p + "mlp.gate.weight", shape: [E, H], kind: "router", layer },
      // transformers' Ernie4_5_MoeStatics holds it as [groups = 1, experts]
      { name: p + "mlp.moe_statics.e_score_correction_bias", shape: [1, E], kind: "bias", layer },
    );
    const experts = Array.from({ length: E }, (_, e) => mlp(`${p}mlp.experts.${e}`, layer, hp.moeIntermediateSize, e));
    for (let i = 0; i < MLP_PROJECTIONS.length; i++) for (const e of experts) out.push(e[i]!);
    if (hp.moeNumSharedExperts > 0)
      out.push(...mlp(p + "mlp.shared_experts", layer, hp.moeIntermediateSize * hp.moeNumSharedExperts));
  }
  return out;
}

/** Parameters of a checkpoint for `hp` (the embedding once when tied). */
export function parameterCount(hp: Hparams): number {
  return checkpointTensors(hp).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
}
