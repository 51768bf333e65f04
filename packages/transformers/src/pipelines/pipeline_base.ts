import type { Engine } from "@wenxin/engine";

import type { GenerateInputs, GenerateOptionsInput } from "../generation/generate.js";
import type { GenerationConfig } from "../generation/configuration_utils.js";
import type { PreTrainedModel } from "../models/modeling_utils.js";
import type { PeftModel } from "../peft/peft_model.js";
import type { PreTrainedTokenizer } from "../tokenization/tokenization_utils.js";
import { Callable } from "../utils/callable.js";

/** A model a pipeline can drive: a plain model or one with LoRA adapters. */
export type PipelineModel = PreTrainedModel | PeftModel;

export function engineOf(model: PipelineModel): Engine {
  return "base_model" in model ? model.base_model.engine : model.engine;
}

export function generationConfigOf(model: PipelineModel): GenerationConfig {
  return "base_model" in model ? model.base_model.generation_config : model.generation_config;
}

export type Generate = (inputs: GenerateInputs, options?: GenerateOptionsInput) => Promise<number[][]>;

/** What every pipeline holds: its task, model and tokenizer, and whether it owns (and disposes) the model. */
export abstract class Pipeline<Args extends unknown[], Result> extends Callable<Args, Promise<Result>> {
  constructor(
    readonly task: string,
    readonly model: PipelineModel,
    readonly tokenizer: PreTrainedTokenizer,
    private readonly ownsModel: boolean,
  ) {
    super();
  }

  /** Closes the model's engine if the pipeline loaded it. */
  async dispose(): Promise<void> {
    if (!this.ownsModel) return;
    await ("base_model" in this.model ? this.model.base_model : this.model).dispose();
  }
}
