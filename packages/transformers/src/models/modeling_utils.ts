/**
 * PreTrainedModel: a loaded checkpoint with transformers' surface (`from_pretrained`, `generate`,
 * `model(inputs)` → logits, `dispose`) over one @wenxin/engine Engine. Subclasses only name their
 * model type; the engine runs both dense and MoE graphs.
 */
import { Engine, WenxinError } from "@wenxin/engine";
import { MODEL_FILES, resolvePretrained } from "@wenxin/engine/internal";

import { GenerationConfig } from "../generation/configuration_utils.js";
import {
  generateOutput,
  generateRows,
  toRows,
  type GenerateDictOutput,
  type GenerateInputs,
  type GenerateMethod,
  type GenerateOptionsInput,
} from "../generation/generate.js";
import { Callable } from "../utils/callable.js";
import { Tensor } from "../utils/tensor.js";
import { PretrainedConfig, configFromDirectory, type ConfigClass } from "./configuration_utils.js";
import { hubOptions, parsePretrainedOptions, type PretrainedOptions } from "./pretrained_options.js";

export interface CausalLMOutput {
  /** [batch, tokens, vocab]; positions masked out by attention_mask are zeros. */
  logits: Tensor<Float32Array>;
}

export interface ModelInit {
  engine: Engine;
  config: PretrainedConfig;
  generation_config: GenerationConfig;
  name_or_path: string;
  /** Runs after the engine closes (e.g. removing a temporary merged checkpoint). */
  onDispose?: () => Promise<void>;
}

export type ModelClass<M extends PreTrainedModel = PreTrainedModel> = (new (init: ModelInit) => M) & {
  readonly model_type: string | undefined;
  readonly config_class: ConfigClass;
  readonly name: string;
};

/** The engine request options for logits with a LoRA adapter (planned engine API). */
type AdapterLogits = (ids: ArrayLike<number>, options?: { adapter?: string }) => Promise<Float32Array>;

export interface PreTrainedModel {
  (inputs: GenerateInputs): Promise<CausalLMOutput>;
}

export class PreTrainedModel extends Callable<[GenerateInputs], Promise<CausalLMOutput>> {
  /** The model type a subclass stands for; undefined accepts any (used by the Auto class). */
  static readonly model_type: string | undefined = undefined;
  static readonly config_class: ConfigClass = PretrainedConfig;

  readonly engine: Engine;
  readonly config: PretrainedConfig;
  /** Defaults for generate(); change its fields to change them. */
  generation_config: GenerationConfig;
  readonly name_or_path: string;
  private readonly onDispose: (() => Promise<void>) | undefined;

  constructor(init: ModelInit) {
    super();
    this.engine = init.engine;
    this.config = init.config;
    this.generation_config = init.generation_config;
    this.name_or_path = init.name_or_path;
    this.onDispose = init.onDispose;
  }

  /** Loads a checkpoint directory or hub repository (see README for the options). */
  static async from_pretrained<M extends PreTrainedModel>(
    this: ModelClass<M>,
    idOrPath: string,
    options: PretrainedOptions = {},
  ): Promise<M> {
    const opts = parsePretrainedOptions(options, `${this.name}.from_pretrained options`);
    const { dir } = await resolvePretrained(idOrPath, MODEL_FILES, hubOptions(opts));
    return loadModelFromDirectory(this, dir, idOrPath, opts);
  }

  /**
   * Generates continuations, as transformers.js: an int64 Tensor [batch, length] of prompt + new
   * ids per row (the final eos included; shorter rows padded with the pad token), or
   * `{ sequences }` with `return_dict_in_generate: true`. Takes ids, a Tensor, or the output of
   * `tokenizer()` / `apply_chat_template()`, with the options beside them or in the same object
   * (`generate({ ...inputs, max_new_tokens })`). Options are transformers' (max_new_tokens,
   * do_sample, temperature, top_k, top_p, min_p, repetition_penalty, eos_token_id, streamer, …);
   * unset ones come from `generation_config`.
   */
  readonly generate: GenerateMethod = ((inputs: GenerateInputs, options?: GenerateOptionsInput) =>
    this.generateWith(inputs, options)) as GenerateMethod;

  /** generate() with a LoRA adapter per row (PeftModel's generate). */
  generateWith(
    inputs: GenerateInputs,
    options: GenerateOptionsInput | undefined,
    adapters?: (string | undefined)[],
  ): Promise<Tensor | GenerateDictOutput> {
    const pad = this.config.pad_token_id ?? this.config.eos_token_id;
    return generateOutput(
      this.engine,
      this.generation_config,
      inputs,
      options,
      typeof pad === "number" ? pad : undefined,
      adapters,
    );
  }

  /** generate() as plain rows of ids (prompt + new ids, unpadded): what the pipelines use. */
  generate_ids(inputs: GenerateInputs, options?: GenerateOptionsInput): Promise<number[][]> {
    return generateRows(this.engine, this.generation_config, inputs, options);
  }

  protected _call(inputs: GenerateInputs): Promise<CausalLMOutput> {
    return this.forward(inputs);
  }

  /** Logits of every position: `(await model(tokenizer(text))).logits`. */
  async forward(inputs: GenerateInputs, adapters?: (string | undefined)[]): Promise<CausalLMOutput> {
    const raw = Array.isArray(inputs) || inputs instanceof Tensor ? { input_ids: inputs } : inputs;
    const ids = toRows(raw.input_ids, "input_ids");
    const masks =
      raw.attention_mask === undefined ? ids.map((r) => r.map(() => 1)) : toRows(raw.attention_mask, "attention_mask");
    const width = ids[0]!.length;
    if (ids.some((r) => r.length !== width) || masks.some((m, i) => m.length !== ids[i]!.length))
      throw new WenxinError(
        "ERR_WENXIN_INVALID_ARGUMENT",
        "a batch for forward() needs rows of one length (pad them and pass attention_mask)",
      );
    const vocab = this.engine.config.hparams.vocabSize;
    const out = new Float32Array(ids.length * width * vocab);
    const logits = this.engine.logits.bind(this.engine) as AdapterLogits;
    await Promise.all(
      ids.map(async (row, b) => {
        const kept = row.map((_, j) => j).filter((j) => masks[b]![j] !== 0);
        const adapter = adapters?.[b];
        const rowLogits = await logits(
          kept.map((j) => row[j]!),
          adapter === undefined ? undefined : { adapter },
        );
        kept.forEach((j, k) => out.set(rowLogits.subarray(k * vocab, (k + 1) * vocab), (b * width + j) * vocab));
      }),
    );
    return { logits: new Tensor(out, [ids.length, width, vocab]) };
  }

  /** Closes the engine; running generations fail with ERR_WENXIN_ENGINE_CLOSED. */
  async dispose(): Promise<void> {
    await this.engine.close();
    await this.onDispose?.();
  }
}

/** Builds a model of class `Cls` (or the config's class via `pick`) from a resolved directory. */
export async function loadModelFromDirectory<M extends PreTrainedModel>(
  Cls: ModelClass<M>,
  dir: string,
  nameOrPath: string,
  opts: PretrainedOptions,
  onDispose?: () => Promise<void>,
): Promise<M> {
  const config = await configFromDirectory(Cls.config_class, dir, nameOrPath);
  if (Cls.model_type !== undefined && Cls.model_type !== config.model_type)
    throw new WenxinError(
      "ERR_WENXIN_UNKNOWN_ARCHITECTURE",
      `${nameOrPath} is a '${config.model_type}' checkpoint; ${Cls.name} runs '${Cls.model_type}' (use AutoModelForCausalLM)`,
      { expected: Cls.model_type, actual: config.model_type },
    );
  const generation_config = (await GenerationConfig.fromDirectory(dir)) ?? GenerationConfig.from_model_config(config);
  const engine = await Engine.load(dir, opts.engine_options ?? {});
  return new Cls({ engine, config, generation_config, name_or_path: nameOrPath, onDispose });
}
