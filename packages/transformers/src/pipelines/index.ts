/**
 * pipeline(task, model?, options?): the task table. Each task loads (or takes) a model and its
 * tokenizer and returns a callable pipeline; dispose() closes a model the pipeline loaded.
 */
import { WenxinError } from "@wenxin/engine";

import { AutoModelForCausalLM } from "../models/auto/auto_model.js";
import { parsePretrainedOptions, type PretrainedOptions } from "../models/pretrained_options.js";
import { PreTrainedTokenizer } from "../tokenization/tokenization_utils.js";
import { FeatureExtractionPipeline } from "./feature_extraction.js";
import { engineOf, type PipelineModel } from "./pipeline_base.js";
import { TextGenerationPipeline } from "./text_generation.js";

/** The model a task uses when none is given. */
export const DEFAULT_MODEL = "baidu/ERNIE-4.5-0.3B-PT";

const TASKS = {
  "text-generation": TextGenerationPipeline,
  "feature-extraction": FeatureExtractionPipeline,
} as const;

export type PipelineTask = keyof typeof TASKS;

export interface PipelineOptions extends PretrainedOptions {
  /** A tokenizer to use instead of the model's own. */
  tokenizer?: PreTrainedTokenizer;
}

export async function pipeline(
  task: "text-generation",
  model?: string | PipelineModel,
  options?: PipelineOptions,
): Promise<TextGenerationPipeline>;
export async function pipeline(
  task: "feature-extraction",
  model?: string | PipelineModel,
  options?: PipelineOptions,
): Promise<FeatureExtractionPipeline>;
export async function pipeline(
  task: PipelineTask,
  model?: string | PipelineModel,
  options?: PipelineOptions,
): Promise<TextGenerationPipeline | FeatureExtractionPipeline>;
export async function pipeline(
  task: PipelineTask,
  model: string | PipelineModel = DEFAULT_MODEL,
  options: PipelineOptions = {},
): Promise<TextGenerationPipeline | FeatureExtractionPipeline> {
  const Task = TASKS[task];
  if (!Task)
    throw new WenxinError(
      "ERR_WENXIN_INVALID_ARGUMENT",
      `unknown pipeline task '${String(task)}'; supported: ${Object.keys(TASKS).join(", ")}`,
      {
        subject: "task",
        expected: Object.keys(TASKS),
        actual: task,
      },
    );
  const { tokenizer: givenTokenizer, ...loadOptions } = options;
  const owns = typeof model === "string";
  const loaded: PipelineModel =
    typeof model === "string"
      ? await AutoModelForCausalLM.from_pretrained(model, parsePretrainedOptions(loadOptions, "pipeline options"))
      : model;
  const engine = engineOf(loaded);
  const tokenizer =
    givenTokenizer ?? (await PreTrainedTokenizer.fromEngine(engine, typeof model === "string" ? model : engine.dir));
  options.progress_callback?.({ status: "ready", task, model: typeof model === "string" ? model : engine.dir });
  return new Task(task, loaded, tokenizer, owns);
}
