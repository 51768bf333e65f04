/**
 * adapter_config.json of a PEFT LoRA adapter: parsed with zod, normalized, and checked for the
 * features the engine cannot apply (DoRA, LoRA biases, modules_to_save, …), each named.
 */
import { z } from "zod";

import { WenxinError } from "../errors.js";
import { parseOrThrow } from "../parse_or_throw.js";

const stringOrList = z.union([z.string(), z.array(z.string())]);

/** The keys we read; PEFT writes many more, which are ignored. */
export const adapterConfigSchema = z
  .object({
    peft_type: z.string(),
    r: z.number().int().positive().default(8),
    lora_alpha: z.number().positive().default(8),
    use_rslora: z.boolean().nullish(),
    target_modules: stringOrList.nullish(),
    exclude_modules: stringOrList.nullish(),
    layers_to_transform: z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative())]).nullish(),
    layers_pattern: stringOrList.nullish(),
    rank_pattern: z.record(z.string(), z.number().int().positive()).nullish(),
    alpha_pattern: z.record(z.string(), z.number().positive()).nullish(),
    fan_in_fan_out: z.boolean().nullish(),
    bias: z.string().nullish(),
    lora_bias: z.boolean().nullish(),
    use_dora: z.boolean().nullish(),
    modules_to_save: z.array(z.string()).nullish(),
    target_parameters: z.array(z.string()).nullish(),
    trainable_token_indices: z.unknown().optional(),
    layer_replication: z.unknown().optional(),
    alora_invocation_tokens: z.unknown().optional(),
    task_type: z.string().nullish(),
    base_model_name_or_path: z.string().nullish(),
  })
  .passthrough();

/** A LoRA adapter's settings, normalized (PEFT's key names). */
export interface LoraConfig {
  peft_type: "LORA";
  r: number;
  lora_alpha: number;
  use_rslora: boolean;
  /** Module names (matched as `name` or `*.name`), or one regex matched against the full module name. */
  target_modules: string[] | string;
  /**
   * Parameters adapted in place (peft's ParamWrapper), matched as `key` or `*.key`: on ERNIE 4.5 MoE the
   * routed experts' fused `gate_up_proj` and `down_proj` (peft 0.21 + transformers 5 write these).
   */
  target_parameters: string[];
  exclude_modules: string[] | string | undefined;
  layers_to_transform: number[] | undefined;
  layers_pattern: string[] | undefined;
  /** Regex key → rank / alpha for the modules it matches (first matching key wins). */
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  task_type: string | undefined;
  base_model_name_or_path: string | undefined;
}

function invalid(source: string, message: string, subject?: string): WenxinError {
  return new WenxinError("ERR_WENXIN_INVALID_CONFIG", `${source}: ${message}`, { subject: subject ?? source });
}

function isSet(v: unknown): boolean {
  if (v === undefined || v === null || v === false) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v as object).length > 0;
  return true;
}

/** Validates a parsed adapter_config.json; `source` names the file in errors. */
export function parseLoraConfig(raw: unknown, source = "adapter_config.json"): LoraConfig {
  const c = parseOrThrow(adapterConfigSchema, raw, source, "ERR_WENXIN_INVALID_CONFIG");
  if (c.peft_type.toUpperCase() !== "LORA")
    throw invalid(source, `peft_type '${c.peft_type}' is not supported (only LORA adapters)`, "peft_type");
  const unsupported: [string, unknown, string][] = [
    ["use_dora", c.use_dora, "DoRA adapters"],
    ["lora_bias", c.lora_bias, "LoRA bias terms"],
    ["modules_to_save", c.modules_to_save, "fully trained extra modules (modules_to_save)"],
    ["trainable_token_indices", c.trainable_token_indices, "trainable token embeddings"],
    ["layer_replication", c.layer_replication, "layer replication"],
    ["alora_invocation_tokens", c.alora_invocation_tokens, "activated LoRA (aLoRA)"],
  ];
  for (const [key, value, what] of unsupported)
    if (isSet(value)) throw invalid(source, `${what} are not supported ('${key}' is set)`, key);
  if (c.bias && c.bias !== "none")
    throw invalid(source, `bias '${c.bias}' is not supported (only "none": adapters without bias terms)`, "bias");
  if (!isSet(c.target_modules) && !isSet(c.target_parameters))
    throw invalid(source, "target_modules is empty: the adapter names no module to adapt", "target_modules");
  const list = (v: string | string[] | null | undefined) =>
    v === null || v === undefined ? undefined : Array.isArray(v) ? v : [v];
  const layers = c.layers_to_transform;
  return {
    peft_type: "LORA",
    r: c.r,
    lora_alpha: c.lora_alpha,
    use_rslora: c.use_rslora ?? false,
    target_modules: c.target_modules ?? [],
    target_parameters: c.target_parameters ?? [],
    exclude_modules: c.exclude_modules ?? undefined,
    layers_to_transform:
      layers === null || layers === undefined ? undefined : Array.isArray(layers) ? layers : [layers],
    layers_pattern: list(c.layers_pattern),
    rank_pattern: c.rank_pattern ?? {},
    alpha_pattern: c.alpha_pattern ?? {},
    task_type: c.task_type ?? undefined,
    base_model_name_or_path: c.base_model_name_or_path ?? undefined,
  };
}

/** LoRA's scale: alpha / r, or alpha / sqrt(r) for rank-stabilized LoRA (use_rslora). */
export function loraScaling(alpha: number, rank: number, useRslora: boolean): number {
  return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
}
