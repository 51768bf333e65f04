// model_type → classes: the one table the Auto classes consult.
import type { ConfigClass } from "./configuration_utils.js";
import { Ernie4_5Config, Ernie4_5_MoeConfig } from "./ernie4_5/configuration_ernie4_5.js";
import { Ernie4_5ForCausalLM, Ernie4_5_MoeForCausalLM } from "./ernie4_5/modeling_ernie4_5.js";
import type { ModelClass } from "./modeling_utils.js";

export type ModelType = "ernie4_5" | "ernie4_5_moe";

export const CONFIG_MAPPING: Record<ModelType, ConfigClass> = {
  ernie4_5: Ernie4_5Config,
  ernie4_5_moe: Ernie4_5_MoeConfig,
};

export const MODEL_FOR_CAUSAL_LM_MAPPING: Record<ModelType, ModelClass> = {
  ernie4_5: Ernie4_5ForCausalLM,
  ernie4_5_moe: Ernie4_5_MoeForCausalLM,
};
