// @wenxin/engine: run ERNIE 4.5 natively in Node.js.

// Engine
export { Engine, loadOptionsSchema } from "./engine.js";
export type { LoadOptions, GenerateOptions, GenerateInput, ForwardInspection } from "./engine.js";

// Generation
export { GenerationStream } from "./generation/generation_stream.js";
export type { GenerationEvent, GenerationResult, TokenEvent, FinishReason } from "./generation/generation_stream.js";
export { samplingOptionsSchema, generateOptionsSchema } from "./generation/options.js";
export type { SamplingOptions } from "./generation/options.js";
export { applyLogitsProcessors } from "./generation/logits_processors.js";
export { constraintSchema, jsonSchemaToGbnf } from "./generation/constraint.js";
export type { Constraint, ConstraintOutcome } from "./generation/constraint.js";

// Model files
export { parseModelConfig, loadModelConfig, ernieConfigSchema } from "./model/config.js";
export type { ModelConfig } from "./model/config.js";
export { resolveWeightFiles } from "./model/weights.js";

// Tokenizer and chat
export { WenxinTokenizer } from "./tokenizer/tokenizer.js";
export { IncrementalDecoder } from "./tokenizer/incremental_decoder.js";
export { ChatTemplate } from "./chat/chat_template.js";
export type { ChatMessage } from "./chat/chat_template.js";

// Errors
export { WenxinError, ERROR_CODES } from "./errors.js";
export type { WenxinErrorCode, WenxinErrorDetails } from "./errors.js";
