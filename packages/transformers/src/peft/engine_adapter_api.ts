/**
 * What the engine receives to apply a LoRA adapter unmerged: one entry per adapted linear layer
 * with its A/B tensors (names, file, byte range) and scale. The engine's side of the contract is
 * `engine.loadAdapter(name, adapter)` plus a per-request `adapter` option on generate and logits.
 */
import { WenxinError, type Engine, type LoraAdapter, type LoraModuleSpec } from "@wenxin/engine";

/** The argument of engine.loadAdapter. */
export interface EngineLoraAdapter {
  config: { peftType: "LORA"; r: number; loraAlpha: number; useRslora: boolean; modules: LoraModuleSpec[] };
  files: string[];
}

/** The engine's view of an adapter (see EngineLoraAdapter). */
export function toEngineAdapter(adapter: LoraAdapter): EngineLoraAdapter {
  return {
    config: {
      peftType: "LORA",
      r: adapter.config.r,
      loraAlpha: adapter.config.lora_alpha,
      useRslora: adapter.config.use_rslora,
      modules: adapter.modules,
    },
    files: [adapter.file],
  };
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
