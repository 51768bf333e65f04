/**
 * GenerationConfig: generation_config.json with transformers' defaults for what it leaves out
 * (max_length 20, do_sample false, temperature 1, top_k 50, top_p 1, repetition_penalty 1).
 * A model's `generation_config` is what `generate()` falls back to, option by option.
 */
import path from "node:path";

import { WenxinError } from "@wenxin/engine";
import { GENERATION_FILES, readJsonObjectFile, resolvePretrained } from "@wenxin/engine/internal";

import type { PretrainedConfig } from "../models/configuration_utils.js";
import { hubOptions, parsePretrainedOptions, type PretrainedOptions } from "../models/pretrained_options.js";

export interface GenerationConfigFields {
  /** Total length (prompt + new tokens) when max_new_tokens is not set. */
  max_length: number;
  max_new_tokens: number | null;
  do_sample: boolean;
  temperature: number;
  /** 0 disables top-k. */
  top_k: number;
  top_p: number;
  min_p: number | null;
  repetition_penalty: number;
  eos_token_id: number | number[] | null;
  bos_token_id: number | null;
  pad_token_id: number | null;
}

const DEFAULTS: GenerationConfigFields = {
  max_length: 20,
  max_new_tokens: null,
  do_sample: false,
  temperature: 1,
  top_k: 50,
  top_p: 1,
  min_p: null,
  repetition_penalty: 1,
  eos_token_id: null,
  bos_token_id: null,
  pad_token_id: null,
};

export interface GenerationConfig extends GenerationConfigFields {
  /** Keys of generation_config.json we do not use are kept as they are. */
  [key: string]: unknown;
}

export class GenerationConfig {
  constructor(values: Partial<GenerationConfigFields> & Record<string, unknown> = {}) {
    Object.assign(this, DEFAULTS);
    for (const [k, v] of Object.entries(values)) if (v !== undefined) this[k] = v;
  }

  /** Loads generation_config.json of a directory or hub repo (transformers' defaults when absent). */
  static async from_pretrained(idOrPath: string, options: PretrainedOptions = {}): Promise<GenerationConfig> {
    const opts = parsePretrainedOptions(options, "GenerationConfig.from_pretrained options");
    const { dir } = await resolvePretrained(idOrPath, GENERATION_FILES, hubOptions(opts));
    return (await GenerationConfig.fromDirectory(dir)) ?? new GenerationConfig();
  }

  /** generation_config.json of `dir`, or undefined when the file does not exist. */
  static async fromDirectory(dir: string): Promise<GenerationConfig | undefined> {
    try {
      return new GenerationConfig(await readJsonObjectFile(path.join(dir, "generation_config.json")));
    } catch (err) {
      if (err instanceof WenxinError && err.code === "ERR_WENXIN_FILE_NOT_FOUND") return undefined;
      throw err;
    }
  }

  /** What transformers derives from config.json when a checkpoint has no generation_config.json. */
  static from_model_config(config: PretrainedConfig): GenerationConfig {
    return new GenerationConfig({
      eos_token_id: config.eos_token_id ?? null,
      bos_token_id: config.bos_token_id ?? null,
      pad_token_id: config.pad_token_id ?? null,
    });
  }

  to_dict(): Record<string, unknown> {
    return { ...this };
  }
}
