/**
 * What the engine receives to apply a LoRA adapter unmerged: one entry per adapted linear layer
 * with its A/B tensors (names, file, byte range) and scale. The engine's side of the contract is
 * `engine.loadAdapter(name, adapter)` plus a per-request `adapter` option on generate and logits.
 */
import { WenxinError, type Engine } from "@wenxin/engine";

export interface LoraTensorRef {
  /** Tensor name in the adapter file, e.g. "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight". */
  name: string;
  file: string;
  dtype: "F32" | "F16" | "BF16";
  /** lora_A: [rank, inFeatures]; lora_B: [outFeatures, rank]. */
  shape: [number, number];
  /** Absolute byte range of the data in `file`. */
  byteOffset: number;
  byteLength: number;
}

export interface LoraModuleSpec {
  /** Hugging Face module name, e.g. "model.layers.0.self_attn.q_proj" or "model.layers.1.mlp.experts.3.up_proj". */
  module: string;
  layer: number;
  block: "attention" | "mlp" | "expert" | "shared_experts";
  projection: "q_proj" | "k_proj" | "v_proj" | "o_proj" | "gate_proj" | "up_proj" | "down_proj";
  /** Routed expert index (block "expert"). */
  expert?: number;
  inFeatures: number;
  outFeatures: number;
  rank: number;
  alpha: number;
  /** y += scaling · B(A(x)): alpha / rank, or alpha / sqrt(rank) with use_rslora. */
  scaling: number;
  loraA: LoraTensorRef;
  loraB: LoraTensorRef;
}

/** The argument of engine.loadAdapter. */
export interface EngineLoraAdapter {
  config: { peftType: "LORA"; r: number; loraAlpha: number; useRslora: boolean; modules: LoraModuleSpec[] };
  files: string[];
}

/** The adapter methods an engine build may have (planned API of @wenxin/engine). */
export interface AdapterCapableEngine {
  loadAdapter(name: string, adapter: EngineLoraAdapter): Promise<void>;
  unloadAdapter?(name: string): Promise<void>;
}

/** The engine as an adapter-capable one, or a clear error when this build cannot apply adapters. */
export function adapterEngine(engine: Engine): AdapterCapableEngine {
  const candidate = engine as unknown as Partial<AdapterCapableEngine>;
  if (typeof candidate.loadAdapter !== "function")
    throw new WenxinError(
      "ERR_WENXIN_INVALID_ARGUMENT",
      "this @wenxin/engine build cannot apply LoRA adapters unmerged (engine.loadAdapter is missing); merge the adapter with mergeAdapterIntoCheckpoint() instead",
      { subject: "engine.loadAdapter" },
    );
  return candidate as AdapterCapableEngine;
}
