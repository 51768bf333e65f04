import { MODEL_FILES, resolvePretrained } from "@wenxin/engine/internal";

import type { PreTrainedModel } from "../modeling_utils.js";
import { loadModelFromDirectory } from "../modeling_utils.js";
import { hubOptions, parsePretrainedOptions, type PretrainedOptions } from "../pretrained_options.js";
import { MODEL_FOR_CAUSAL_LM_MAPPING, type ModelType } from "../registry.js";
import { configFromDirectoryAuto } from "./auto_config.js";

/** Loads a causal LM checkpoint as the class its config.json names (Ernie4_5ForCausalLM or Ernie4_5_MoeForCausalLM). */
export class AutoModelForCausalLM {
  static async from_pretrained(idOrPath: string, options: PretrainedOptions = {}): Promise<PreTrainedModel> {
    const opts = parsePretrainedOptions(options, "AutoModelForCausalLM.from_pretrained options");
    const { dir } = await resolvePretrained(idOrPath, MODEL_FILES, hubOptions(opts));
    const config = await configFromDirectoryAuto(dir, idOrPath);
    // configFromDirectory has already rejected model types the engine cannot run.
    return loadModelFromDirectory(MODEL_FOR_CAUSAL_LM_MAPPING[config.model_type as ModelType], dir, idOrPath, opts);
  }
}
