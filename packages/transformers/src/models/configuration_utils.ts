/**
 * PretrainedConfig: config.json as an object with transformers' snake_case keys, validated by the
 * engine's own parser so a config that loads here also runs.
 */
import path from "node:path";

import { WenxinError, type ModelConfig } from "@wenxin/engine";
import { CONFIG_FILES, parseModelConfig, readJsonObjectFile, resolvePretrained } from "@wenxin/engine/internal";

import { hubOptions, parsePretrainedOptions, type PretrainedOptions } from "./pretrained_options.js";

export class PretrainedConfig {
  /** The model type a subclass stands for; AutoConfig's base class accepts any. */
  static readonly model_type: string | undefined = undefined;

  [key: string]: unknown;
  /** "ernie4_5" or "ernie4_5_moe". */
  declare model_type: string;
  declare architectures?: string[];
  declare hidden_size: number;
  declare num_hidden_layers: number;
  declare vocab_size: number;
  declare eos_token_id?: number | number[] | null;
  declare bos_token_id?: number | null;
  declare pad_token_id?: number | null;
  /** The repo id or directory it was loaded from. */
  declare name_or_path: string;

  constructor(json: Record<string, unknown>, nameOrPath = "") {
    Object.assign(this, json);
    Object.defineProperty(this, "name_or_path", { value: nameOrPath, enumerable: false, writable: true });
  }

  /** The engine's validated reading of this config (hyper-parameters, eos ids). */
  get engineConfig(): ModelConfig {
    return parseModelConfig(this.to_dict(), `${this.name_or_path || "config"}/config.json`);
  }

  /** config.json contents (own enumerable keys). */
  to_dict(): Record<string, unknown> {
    return { ...this };
  }

  /** Loads config.json of a directory or hub repo as this class (AutoConfig picks the class itself). */
  static async from_pretrained<C extends PretrainedConfig>(
    this: ConfigClass<C>,
    idOrPath: string,
    options: PretrainedOptions = {},
  ): Promise<C> {
    const opts = parsePretrainedOptions(options, `${this.name}.from_pretrained options`);
    const { dir } = await resolvePretrained(idOrPath, CONFIG_FILES, hubOptions(opts));
    return configFromDirectory(this, dir, idOrPath);
  }
}

export type ConfigClass<C extends PretrainedConfig = PretrainedConfig> = (new (
  json: Record<string, unknown>,
  nameOrPath?: string,
) => C) & {
  readonly model_type?: string;
  readonly name: string;
};

/** Reads `dir/config.json` as `Cls`, after the engine's validation (and a model_type check for a concrete class). */
export async function configFromDirectory<C extends PretrainedConfig>(
  Cls: ConfigClass<C>,
  dir: string,
  nameOrPath: string,
): Promise<C> {
  const file = path.join(dir, "config.json");
  const json = await readJsonObjectFile(file);
  const modelType = parseModelConfig(json, file).hparams.modelType; // rejects what the engine cannot run
  if (Cls.model_type !== undefined && Cls.model_type !== modelType)
    throw new WenxinError(
      "ERR_WENXIN_UNKNOWN_ARCHITECTURE",
      `${nameOrPath} is a '${modelType}' checkpoint, not '${Cls.model_type}': load it with the Auto class or the matching ${modelType} class`,
      { subject: file, expected: Cls.model_type, actual: modelType },
    );
  return new Cls({ ...json, model_type: json.model_type ?? modelType }, nameOrPath);
}
