/**
 * The linear layers of an ERNIE 4.5 model, by their Hugging Face module names, with the shapes a
 * LoRA pair on them must have. Derived from the engine's validated hyper-parameters, so it fits
 * exactly the checkpoint that is loaded (head_dim, kv heads, MoE layer placement).
 */
import type { ModelConfig } from "@wenxin/engine";

export type Projection = "q_proj" | "k_proj" | "v_proj" | "o_proj" | "gate_proj" | "up_proj" | "down_proj";

export interface LinearModule {
  /** e.g. "model.layers.0.self_attn.q_proj" */
  module: string;
  layer: number | undefined;
  /** Where it sits: attention, the dense MLP, one routed expert, the shared experts, the router or the head. */
  block: "attention" | "mlp" | "expert" | "shared_experts" | "router" | "lm_head";
  projection: Projection | "gate" | "lm_head";
  expert?: number;
  inFeatures: number;
  outFeatures: number;
  /** Whether the engine can apply LoRA here; if not, `why`. */
  supported: boolean;
  why?: string;
}

type Hparams = ModelConfig["hparams"];

/** transformers' rule: layer l is MoE when (l+1) % interval == 0 and start <= l <= end (end -1 = last). */
export function isMoeLayer(hp: Hparams, layer: number): boolean {
  if (hp.moeNumExperts <= 0) return false;
  const end = hp.moeLayerEndIndex < 0 ? hp.numHiddenLayers - 1 : hp.moeLayerEndIndex;
  return (layer + 1) % hp.moeLayerInterval === 0 && layer >= hp.moeLayerStartIndex && layer <= end;
}

function mlp(
  prefix: string,
  layer: number,
  block: "mlp" | "expert" | "shared_experts",
  hidden: number,
  width: number,
  expert?: number,
): LinearModule[] {
  const base = { layer, block, supported: true, ...(expert !== undefined ? { expert } : {}) };
  return [
    { ...base, module: `${prefix}.gate_proj`, projection: "gate_proj", inFeatures: hidden, outFeatures: width },
    { ...base, module: `${prefix}.up_proj`, projection: "up_proj", inFeatures: hidden, outFeatures: width },
    { ...base, module: `${prefix}.down_proj`, projection: "down_proj", inFeatures: width, outFeatures: hidden },
  ];
}

export function linearModules(hp: Hparams): LinearModule[] {
  const out: LinearModule[] = [];
  const h = hp.hiddenSize;
  const qWidth = hp.numAttentionHeads * hp.headDim;
  const kvWidth = hp.numKeyValueHeads * hp.headDim;
  for (let l = 0; l < hp.numHiddenLayers; l++) {
    const attn = `model.layers.${l}.self_attn`;
    const a = { layer: l, block: "attention" as const, supported: true };
    out.push(
      { ...a, module: `${attn}.q_proj`, projection: "q_proj", inFeatures: h, outFeatures: qWidth },
      { ...a, module: `${attn}.k_proj`, projection: "k_proj", inFeatures: h, outFeatures: kvWidth },
      { ...a, module: `${attn}.v_proj`, projection: "v_proj", inFeatures: h, outFeatures: kvWidth },
      { ...a, module: `${attn}.o_proj`, projection: "o_proj", inFeatures: qWidth, outFeatures: h },
    );
    const m = `model.layers.${l}.mlp`;
    if (!isMoeLayer(hp, l)) {
      out.push(...mlp(m, l, "mlp", h, hp.intermediateSize));
      continue;
    }
    out.push({
      module: `${m}.gate`,
      layer: l,
      block: "router",
      projection: "gate",
      inFeatures: h,
      outFeatures: hp.moeNumExperts,
      supported: false,
      why: "LoRA on the MoE router is not supported",
    });
    for (let e = 0; e < hp.moeNumExperts; e++)
      out.push(...mlp(`${m}.experts.${e}`, l, "expert", h, hp.moeIntermediateSize, e));
    if (hp.moeNumSharedExperts > 0)
      out.push(...mlp(`${m}.shared_experts`, l, "shared_experts", h, hp.moeIntermediateSize * hp.moeNumSharedExperts));
  }
  out.push({
    module: "lm_head",
    layer: undefined,
    block: "lm_head",
    projection: "lm_head",
    inFeatures: h,
    outFeatures: hp.vocabSize,
    supported: false,
    why: "LoRA on the output head (lm_head) is not supported",
  });
  return out;
}
