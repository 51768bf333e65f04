/**
 * PeftModel: LoRA adapters on a loaded model, as in PEFT. Adapters stay unmerged in the engine,
 * several at once; every request names the adapter it runs with (the active one by default, or
 * `adapter_names` per row, "__base__" for none). merge_and_unload() writes a merged checkpoint
 * and loads it as a plain model.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { WenxinError, type Engine, type LoadOptions, type LoraAdapter, type LoraConfig } from "@wenxin/engine";
import { ADAPTER_FILES, loadLoraAdapter, resolvePretrained } from "@wenxin/engine/internal";

import type { GenerateInputs, GenerateMethod, GenerateOptionsInput } from "../generation/generate.js";
import { batchSize, generateRows } from "../generation/generate.js";
import {
  loadModelFromDirectory,
  type CausalLMOutput,
  type ModelClass,
  type PreTrainedModel,
} from "../models/modeling_utils.js";

/** generate()'s options, with the adapter of each row. */
export type PeftGenerateOptions = GenerateOptionsInput & { adapter_names?: string[] };
import { hubOptions, parsePretrainedOptions, type PretrainedOptions } from "../models/pretrained_options.js";
import { mergeAdapterIntoCheckpoint } from "./merge.js";

/** The adapter name that means "no adapter" in adapter_names (PEFT's spelling). */
export const BASE_ADAPTER = "__base__";

export interface PeftLoadOptions extends Omit<PretrainedOptions, "dtype" | "device" | "engine_options"> {
  /** Name the adapter is registered under (default "default"). */
  adapter_name?: string;
}

export interface MergeOptions {
  /** Adapters to merge (default: the active one). */
  adapter_names?: string[];
  /** Where to write the merged checkpoint (default: a temporary directory removed on dispose()). */
  output_dir?: string;
  /** Engine settings for the merged model (default: the base engine's maxContext). */
  engine_options?: LoadOptions;
}

/** Adapter names registered per engine: names are engine-wide, so two PeftModels must not clash. */
const namesByEngine = new WeakMap<Engine, Set<string>>();

function namesOf(engine: Engine): Set<string> {
  let names = namesByEngine.get(engine);
  if (!names) namesByEngine.set(engine, (names = new Set()));
  return names;
}

export class PeftModel {
  /** adapter name → its adapter_config.json, normalized. */
  readonly peft_config: Record<string, LoraConfig> = {};
  private readonly adapters = new Map<string, LoraAdapter>();
  private active: string;

  private constructor(
    readonly base_model: PreTrainedModel,
    first: string,
  ) {
    this.active = first;
  }

  /** Loads the adapter at `adapterIdOrPath` (directory or hub repo) onto `model`. */
  static async from_pretrained(
    model: PreTrainedModel,
    adapterIdOrPath: string,
    options: PeftLoadOptions = {},
  ): Promise<PeftModel> {
    const name = options.adapter_name ?? "default";
    const peft = new PeftModel(model, name);
    await peft.load_adapter(adapterIdOrPath, name, options);
    return peft;
  }

  /** Loads one more adapter; it does not become active (see set_adapter). */
  async load_adapter(adapterIdOrPath: string, adapter_name: string, options: PeftLoadOptions = {}): Promise<void> {
    const { adapter_name: _ignored, ...rest } = options;
    const opts = parsePretrainedOptions(rest, "PeftModel.load_adapter options");
    if (!adapter_name || adapter_name === BASE_ADAPTER)
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", `'${adapter_name}' cannot name an adapter`, {
        subject: "adapter_name",
      });
    const engine = this.base_model.engine;
    const names = namesOf(engine);
    if (names.has(adapter_name))
      throw new WenxinError(
        "ERR_WENXIN_INVALID_ARGUMENT",
        `an adapter named '${adapter_name}' is already loaded on this model; pass another adapter_name`,
        {
          subject: "adapter_name",
        },
      );
    const { dir } = await resolvePretrained(adapterIdOrPath, ADAPTER_FILES, hubOptions(opts));
    const adapter = await loadLoraAdapter(dir, this.base_model.config.engineConfig);
    names.add(adapter_name);
    try {
      await engine.loadAdapter(adapter_name, { config: { modules: adapter.modules } });
    } catch (err) {
      names.delete(adapter_name);
      throw err;
    }
    this.adapters.set(adapter_name, adapter);
    this.peft_config[adapter_name] = adapter.config;
  }

  /** Makes `adapter_name` the one requests use by default. */
  set_adapter(adapter_name: string): void {
    this.adapterOf(adapter_name);
    this.active = adapter_name;
  }

  get active_adapter(): string {
    return this.active;
  }

  /** Removes an adapter from the engine (requests already running with it finish first, engine permitting). */
  async delete_adapter(adapter_name: string): Promise<void> {
    this.adapterOf(adapter_name);
    await this.base_model.engine.unloadAdapter(adapter_name);
    namesOf(this.base_model.engine).delete(adapter_name);
    this.adapters.delete(adapter_name);
    delete this.peft_config[adapter_name];
    if (this.active === adapter_name) this.active = this.adapters.keys().next().value ?? BASE_ADAPTER;
  }

  get_base_model(): PreTrainedModel {
    return this.base_model;
  }

  /**
   * generate() with the active adapter, or per row with `adapter_names` (BASE_ADAPTER = none): an
   * int64 Tensor of the sequences, or `{ sequences }` with `return_dict_in_generate`, as the base
   * model's generate(). Rows with different adapters run concurrently in the same engine.
   */
  readonly generate: GenerateMethod<PeftGenerateOptions> = ((
    inputs: GenerateInputs,
    options: PeftGenerateOptions = {},
  ) => {
    const { adapter_names, ...rest } = options;
    return this.base_model.generateWith(inputs, rest, this.rowAdapters(adapter_names, rowCount(inputs)));
  }) as GenerateMethod<PeftGenerateOptions>;

  /** generate() as plain rows of ids (prompt + new ids, unpadded): what the pipelines use. */
  generate_ids(inputs: GenerateInputs, options: PeftGenerateOptions = {}): Promise<number[][]> {
    const { adapter_names, ...rest } = options;
    return generateRows(
      this.base_model.engine,
      this.base_model.generation_config,
      inputs,
      rest,
      this.rowAdapters(adapter_names, rowCount(inputs)),
    );
  }

  /** Logits with the active adapter (or `adapter_names` per row). */
  forward(inputs: GenerateInputs, options: { adapter_names?: string[] } = {}): Promise<CausalLMOutput> {
    return this.base_model.forward(inputs, this.rowAdapters(options.adapter_names, rowCount(inputs)));
  }

  /**
   * Merges the active adapter (or `adapter_names`) into a copy of the base checkpoint and loads
   * it as a plain model. The base model and its adapters stay loaded; dispose() them if unused.
   */
  async merge_and_unload(options: MergeOptions = {}): Promise<PreTrainedModel> {
    const names = options.adapter_names ?? [this.active];
    const adapters = names.map((n) => this.adapterOf(n));
    const temporary = options.output_dir === undefined;
    const outputDir = options.output_dir ?? (await mkdtemp(path.join(os.tmpdir(), "wenxin-merged-")));
    try {
      await mergeAdapterIntoCheckpoint(this.base_model.engine.dir, adapters, outputDir);
      const Cls = this.base_model.constructor as ModelClass;
      const engine_options = options.engine_options ?? { maxContext: this.base_model.engine.maxContext };
      const cleanup = temporary ? () => rm(outputDir, { recursive: true, force: true }) : undefined;
      return await loadModelFromDirectory(
        Cls,
        outputDir,
        `${this.base_model.name_or_path}+${names.join("+")}`,
        { engine_options },
        cleanup,
      );
    } catch (err) {
      if (temporary) await rm(outputDir, { recursive: true, force: true });
      throw err;
    }
  }

  private adapterOf(name: string): LoraAdapter {
    const adapter = this.adapters.get(name);
    if (!adapter)
      throw new WenxinError(
        "ERR_WENXIN_INVALID_ARGUMENT",
        `no adapter named '${name}' (loaded: ${[...this.adapters.keys()].join(", ") || "none"})`,
        {
          subject: name,
        },
      );
    return adapter;
  }

  private rowAdapters(names: string[] | undefined, rows: number): (string | undefined)[] {
    const list = names ?? new Array<string>(rows).fill(this.active);
    return list.map((n) => {
      if (n === BASE_ADAPTER) return undefined;
      this.adapterOf(n);
      return n;
    });
  }
}

function rowCount(inputs: GenerateInputs): number {
  return batchSize(inputs);
}
