import { CONFIG_FILES, resolvePretrained } from "@wenxin/engine/internal";

import { PretrainedConfig, configFromDirectory } from "../configuration_utils.js";
import { hubOptions, parsePretrainedOptions, type PretrainedOptions } from "../pretrained_options.js";
import { CONFIG_MAPPING, type ModelType } from "../registry.js";

/** Reads config.json and returns the config class of its model type. */
export class AutoConfig {
  static async from_pretrained(idOrPath: string, options: PretrainedOptions = {}): Promise<PretrainedConfig> {
    const opts = parsePretrainedOptions(options, "AutoConfig.from_pretrained options");
    const { dir } = await resolvePretrained(idOrPath, CONFIG_FILES, hubOptions(opts));
    return configFromDirectoryAuto(dir, idOrPath);
  }
}

/** config.json of `dir` as the class its model type maps to. */
export async function configFromDirectoryAuto(dir: string, nameOrPath: string): Promise<PretrainedConfig> {
  const config = await configFromDirectory(PretrainedConfig, dir, nameOrPath);
  const Cls = CONFIG_MAPPING[config.model_type as ModelType];
  return Cls ? new Cls(config.to_dict(), nameOrPath) : config;
}
