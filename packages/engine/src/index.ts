// @wenxin/engine: run ERNIE 4.5 natively in Node.js. This is the user API; the pieces the sibling
// packages (langchain, server, transformers, cli, bench) build on are in "@wenxin/engine/internal".

// Engine
export { Engine, LOAD_DEFAULTS } from "./engine.js";
export type {
  LoadOptions,
  GenerateOptions,
  GenerateInput,
  ForwardInspection,
  LoraAdapterSpec,
  LoraTensorSpec,
  EngineStats,
} from "./engine.js";

// Generation
export { GenerationStream } from "./generation/generation_stream.js";
export type {
  GenerationEvent,
  GenerationResult,
  TokenEvent,
  TokenLogprob,
  FinishReason,
} from "./generation/generation_stream.js";
export type { SamplingOptions } from "./generation/options.js";
export { jsonSchemaToGbnf } from "./generation/constraint.js";
export type { Constraint, ConstraintOutcome } from "./generation/constraint.js";
export { CONSTRAINT_LIMITS } from "./generation/grammar/compile_budget.js";
export type { ConstraintLimits } from "./generation/grammar/compile_budget.js";

// LoRA adapters in PEFT's format (read by engine.loadAdapter, written by the trainer)
export type { LoraConfig } from "./adapters/lora_config.js";
export type { LoraAdapter, LoraModuleSpec, LoraTensorRef } from "./adapters/peft_adapter.js";

// LoRA fine-tuning (engine.createTrainer)
export { LoraTrainer } from "./training/lora_trainer.js";
export type { StepResult, EvaluationResult, TrainingBatch } from "./training/lora_trainer.js";
export type { TrainerOptions, LoraOptions, OptimizerOptions } from "./training/options.js";
export type { TrainingExample, TrainingRow, PaddedBatch } from "./training/examples.js";
export type { LoraTarget } from "./training/lora_targets.js";
export { loadJsonlDataset } from "./training/jsonl_dataset.js";
export type { Dataset, DatasetStats } from "./training/jsonl_dataset.js";
export { trainLoop, stepsPerEpoch, latestCheckpoint } from "./training/train_loop.js";
export type { TrainLoopOptions, TrainProgress, TrainResult, LogEntry } from "./training/train_loop.js";

// Model files: quantize a checkpoint, convert it to GGUF (llama.cpp's format)
export type { ModelConfig } from "./model/config.js";
export { quantizeModel } from "./model/quantize.js";
export type { QuantizeOptions } from "./model/quantize.js";
export { convertToGguf } from "./gguf/convert_to_gguf.js";
export type { ConvertToGgufOptions } from "./gguf/convert_to_gguf.js";

// Tokenizer and chat
export { WenxinTokenizer } from "./tokenizer/tokenizer.js";
export { IncrementalDecoder } from "./tokenizer/incremental_decoder.js";
export { ChatTemplate } from "./chat/chat_template.js";
export type { ChatMessage } from "./chat/chat_template.js";

// Errors
export { WenxinError, ERROR_CODES } from "./errors.js";
export type { WenxinErrorCode, WenxinErrorDetails } from "./errors.js";

// System
export { systemInfo, measureReadBandwidth } from "./system_info.js";
export type { SystemInfo } from "./system_info.js";
