// ERNIE 4.5 causal LMs: all the work is in the engine; these classes only name their model type.
import type { ConfigClass } from "../configuration_utils.js";
import { PreTrainedModel } from "../modeling_utils.js";
import { Ernie4_5Config, Ernie4_5_MoeConfig } from "./configuration_ernie4_5.js";

/** Dense ERNIE 4.5 (baidu/ERNIE-4.5-0.3B-PT). */
export class Ernie4_5ForCausalLM extends PreTrainedModel {
  static readonly model_type: string | undefined = "ernie4_5";
  static readonly config_class: ConfigClass = Ernie4_5Config;
}

/** Mixture-of-experts ERNIE 4.5 (baidu/ERNIE-4.5-21B-A3B-PT). */
export class Ernie4_5_MoeForCausalLM extends PreTrainedModel {
  static readonly model_type: string | undefined = "ernie4_5_moe";
  static readonly config_class: ConfigClass = Ernie4_5_MoeConfig;
}
