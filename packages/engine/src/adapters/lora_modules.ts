/**
 * Where LoRA can sit on an ERNIE 4.5 model: its linear layers by their Hugging Face module names,
 * and the routed experts' fused parameters (transformers 5's `mlp.experts.gate_up_proj` /
 * `down_proj`, which peft adapts in place), with the shapes a LoRA pair on each must have. Derived
 * from the validated hyper-parameters, so it fits exactly the checkpoint that is loaded.
 */
import type { ModelConfig } from "../model/config.js";
import { isMoeLayer } from "../model/ernie_layout.js";

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

/** The routed experts' fused parameters, in the order transformers registers them. */
export const EXPERT_PARAMETERS = ["gate_up_proj", "down_proj"] as const;
export type ExpertParameterName = (typeof EXPERT_PARAMETERS)[number];

/** One MoE layer's fused expert parameter: [experts, out, in]; gate_up_proj's out stacks gate over up. */
export interface ExpertParameter {
  /** e.g. "model.layers.1.mlp.experts.gate_up_proj" */
  key: string;
  layer: number;
  name: ExpertParameterName;
  experts: number;
  /** Per expert. */
  inFeatures: number;
  outFeatures: number;
}

export function expertParameters(hp: Hparams): ExpertParameter[] {
  const out: ExpertParameter[] = [];
  const h = hp.hiddenSize,
    w = hp.moeIntermediateSize,
    experts = hp.moeNumExperts;
  for (let l = 0; l < hp.numHiddenLayers; l++) {
    if (!isMoeLayer(hp, l)) continue;
    const base = `model.layers.${l}.mlp.experts`;
    out.push({
      key: `${base}.gate_up_proj`,
      layer: l,
      name: "gate_up_proj",
      experts,
      inFeatures: h,
      outFeatures: 2 * w,
    });
    out.push({ key: `${base}.down_proj`, layer: l, name: "down_proj", experts, inFeatures: w, outFeatures: h });
  }
  return out;
}

/**
 * The module path under which peft saves a fused parameter's LoRA. peft wraps the adapted
 * parameters of one module in registration order, each wrapper around the last, so the last
 * adapted is the outer one ("…mlp.experts") and each earlier one a ".base_layer" deeper.
 */
export function expertParameterPath(key: string, adapted: readonly ExpertParameterName[]): string {
  const dot = key.lastIndexOf(".");
  const name = key.slice(dot + 1) as ExpertParameterName;
  const depth = adapted.length - 1 - adapted.indexOf(name);
  return key.slice(0, dot) + ".base_layer".repeat(depth);
}
