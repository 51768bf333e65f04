/**
 * LoRA training in peft's shape: `await get_peft_model(model, new LoraConfig({...}))` (or
 * `PeftModelForCausalLM.from_pretrained(model, dir, { is_trainable: true })` to continue an adapter)
 * gives a model whose LoRA matrices train (Trainer, or its own step()), that generates with the
 * current weights, and whose save_pretrained writes a PEFT adapter. The work is the engine's
 * trainer (engine.createTrainer), on the engine's own thread.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import {
  WenxinError,
  type LoraConfig as AdapterConfig,
  type LoraTrainer,
  type StepResult,
  type TrainingBatch,
} from "@wenxin/engine";
import { parameterCount } from "@wenxin/engine/internal";

import {
  batchSize,
  generateRows,
  type GenerateInputs,
  type GenerateMethod,
  type GenerateOptionsInput,
} from "../generation/generate.js";
import type { CausalLMOutput, PreTrainedModel } from "../models/modeling_utils.js";
import { LoraConfig } from "./lora_config.js";

/** The adapter name the model's current weights are loaded under for generation. */
const LIVE_ADAPTER = "__training__";

/** Parameters of the base model, counted from its hyper-parameters (embedding once when tied). */
function baseParameters(model: PreTrainedModel): number {
  return parameterCount(model.engine.config.hparams);
}

export class PeftModelForCausalLM {
  /** adapter name → its config (one adapter, "default", is trained). */
  readonly peft_config: Record<string, AdapterConfig>;
  private liveStep = -1;
  private liveDir: string | undefined;

  constructor(
    readonly base_model: PreTrainedModel,
    /** The engine's trainer underneath (see @wenxin/engine's LoraTrainer). */
    readonly trainer: LoraTrainer,
  ) {
    this.peft_config = { default: trainer.loraConfig };
  }

  /** Continues training an adapter saved by peft or save_pretrained (`is_trainable: true` is required, as in peft). */
  static async from_pretrained(
    model: PreTrainedModel,
    adapterDir: string,
    options: { is_trainable?: boolean; seed?: number } = {},
  ): Promise<PeftModelForCausalLM> {
    if (!options.is_trainable)
      throw new WenxinError(
        "ERR_WENXIN_INVALID_ARGUMENT",
        "PeftModelForCausalLM.from_pretrained loads an adapter to train it: pass { is_trainable: true } (PeftModel.from_pretrained applies one for inference)",
        { subject: "is_trainable" },
      );
    const trainer = await model.engine.createTrainer({ lora: { from: adapterDir }, seed: options.seed ?? 0 });
    return new PeftModelForCausalLM(model, trainer);
  }

  /** [trainable values, all values] (LoRA's A and B; the base model's from its shapes). */
  get_nb_trainable_parameters(): [number, number] {
    const trainable = this.trainer.parameterCount;
    return [trainable, trainable + baseParameters(this.base_model)];
  }

  print_trainable_parameters(): void {
    const [trainable, all] = this.get_nb_trainable_parameters();
    console.log(
      `trainable params: ${trainable.toLocaleString("en")} || all params: ${all.toLocaleString("en")} || trainable%: ${((100 * trainable) / all).toFixed(4)}`,
    );
  }

  /** One optimizer step on a batch (rows or tokenized examples; see the engine's LoraTrainer.step). */
  step(batch: TrainingBatch, options: { microBatchSize?: number } = {}): Promise<StepResult> {
    return this.trainer.step(batch, options);
  }

  /** Writes the adapter in PEFT's format (adapter_config.json, adapter_model.safetensors). */
  save_pretrained(dir: string): Promise<void> {
    return this.trainer.saveAdapter(dir);
  }

  /** Generates with the LoRA weights as they are now, as the base model's generate() (the base model's other requests are unaffected). */
  readonly generate: GenerateMethod = (async (inputs: GenerateInputs, options: GenerateOptionsInput = {}) => {
    const adapter = await this.live();
    return this.base_model.generateWith(inputs, options, new Array<string>(batchSize(inputs)).fill(adapter));
  }) as GenerateMethod;

  /** generate() as plain rows of ids (prompt + new ids, unpadded). */
  async generate_ids(inputs: GenerateInputs, options: GenerateOptionsInput = {}): Promise<number[][]> {
    const adapter = await this.live();
    return generateRows(
      this.base_model.engine,
      this.base_model.generation_config,
      inputs,
      options,
      new Array<string>(batchSize(inputs)).fill(adapter),
    );
  }

  /** Logits with the LoRA weights as they are now. */
  async forward(inputs: GenerateInputs): Promise<CausalLMOutput> {
    const adapter = await this.live();
    return this.base_model.forward(inputs, new Array<string>(batchSize(inputs)).fill(adapter));
  }

  /** Frees the engine's copy of the current weights (and the temporary adapter files). */
  async dispose(): Promise<void> {
    if (this.liveDir) await rm(this.liveDir, { recursive: true, force: true });
    if (this.liveStep >= 0) await this.base_model.engine.unloadAdapter(LIVE_ADAPTER);
  }

  /** The current weights as an engine adapter, reloaded when a step changed them. */
  private async live(): Promise<string> {
    if (this.liveStep !== this.trainer.globalStep) {
      this.liveDir ??= await mkdtemp(path.join(os.tmpdir(), "wenxin-peft-live-"));
      await this.trainer.saveAdapter(this.liveDir);
      await this.base_model.engine.loadAdapter(LIVE_ADAPTER, this.liveDir);
      this.liveStep = this.trainer.globalStep;
    }
    return LIVE_ADAPTER;
  }
}

/** Wraps `model` with trainable LoRA matrices where `config` puts them (peft's get_peft_model). */
export async function get_peft_model(
  model: PreTrainedModel,
  config: LoraConfig,
  options: { seed?: number } = {},
): Promise<PeftModelForCausalLM> {
  if (!(config instanceof LoraConfig))
    throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "get_peft_model takes a LoraConfig", { subject: "config" });
  const trainer = await model.engine.createTrainer({ lora: config.toTrainerOptions(), seed: options.seed ?? 0 });
  return new PeftModelForCausalLM(model, trainer);
}
