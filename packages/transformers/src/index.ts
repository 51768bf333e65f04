// @wenxin/transformers: a Transformers-style API for ERNIE 4.5 over @wenxin/engine.

// Auto classes and models
export { AutoConfig } from "./models/auto/auto_config.js";
export { AutoTokenizer } from "./models/auto/auto_tokenizer.js";
export { AutoModelForCausalLM } from "./models/auto/auto_model.js";
export { PretrainedConfig } from "./models/configuration_utils.js";
export { Ernie4_5Config, Ernie4_5_MoeConfig } from "./models/ernie4_5/configuration_ernie4_5.js";
export { PreTrainedModel } from "./models/modeling_utils.js";
export type { CausalLMOutput } from "./models/modeling_utils.js";
export { Ernie4_5ForCausalLM, Ernie4_5_MoeForCausalLM } from "./models/ernie4_5/modeling_ernie4_5.js";
export type { PretrainedOptions } from "./models/pretrained_options.js";

// Tokenizer
export { PreTrainedTokenizer } from "./tokenization/tokenization_utils.js";
export type {
  BatchEncoding,
  TokenizerCallOptions,
  DecodeOptions,
  ChatTemplateOptions,
} from "./tokenization/tokenization_utils.js";

// Generation
export { GenerationConfig } from "./generation/configuration_utils.js";
export { TextStreamer, TextIteratorStreamer, AsyncTextIteratorStreamer } from "./generation/streamers.js";
export type { BaseStreamer, TextStreamerOptions } from "./generation/streamers.js";
export type {
  GenerateInputs,
  GenerateOptionsInput,
  GenerateMethod,
  GenerateDictOutput,
} from "./generation/generate.js";

// Pipelines
export { pipeline, DEFAULT_MODEL } from "./pipelines/index.js";
export type { PipelineTask, PipelineOptions } from "./pipelines/index.js";
export { TextGenerationPipeline } from "./pipelines/text_generation.js";
export type { Chat, TextGenerationOptions } from "./pipelines/text_generation.js";
export { FeatureExtractionPipeline } from "./pipelines/feature_extraction.js";
export type { FeatureExtractionOptions } from "./pipelines/feature_extraction.js";

// PEFT (LoRA adapters)
export { PeftModel, BASE_ADAPTER } from "./peft/peft_model.js";
export type { PeftLoadOptions, MergeOptions } from "./peft/peft_model.js";
// The PEFT adapter format lives in @wenxin/engine (engine.loadAdapter reads it too).
export { parseLoraConfig, loraScaling, loadLoraAdapter, describeAdapter } from "@wenxin/engine/internal";
export type { LoraAdapter, LoraModuleSpec, LoraTensorRef } from "@wenxin/engine";
export { LoraConfig } from "./peft/lora_config.js";
export type { LoraConfigInit } from "./peft/lora_config.js";
export { get_peft_model, PeftModelForCausalLM } from "./peft/peft_training.js";

// Training (LoRA): transformers' Trainer and TrainingArguments
export { Trainer } from "./trainer/trainer.js";
export type { TrainerInit, TrainOutput, DatasetRow } from "./trainer/trainer.js";
export { TrainingArguments } from "./trainer/training_args.js";
export type { TrainingArgumentsInit } from "./trainer/training_args.js";
export { mergeAdapterIntoCheckpoint } from "./peft/merge.js";

// Hub (the engine's: every package resolves hub ids the same way)
export {
  env,
  hf_hub_download,
  resolvePretrained,
  MODEL_FILES,
  TOKENIZER_FILES,
  CONFIG_FILES,
  ADAPTER_FILES,
  HubError,
} from "@wenxin/engine/internal";
export type {
  ProgressInfo,
  ProgressCallback,
  FileRequest,
  ResolvedLocation,
  HubDownloadOptions,
  HubErrorReason,
} from "@wenxin/engine/internal";

// Tensors
export { Tensor } from "./utils/tensor.js";
export type { TensorType, TensorData, NestedNumbers } from "./utils/tensor.js";
export { mean_pooling, cat, stack, full, full_like, ones, ones_like, zeros, zeros_like } from "./utils/tensor_ops.js";
