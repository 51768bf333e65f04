// @wenxin/engine: run ERNIE 4.5 natively in Node.js.

// Engine
export { Engine, loadOptionsSchema } from "./engine.js";
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
export { samplingOptionsSchema, generateOptionsSchema } from "./generation/options.js";
export type { SamplingOptions } from "./generation/options.js";
export { applyLogitsProcessors } from "./generation/logits_processors.js";
export { constraintSchema, jsonSchemaToGbnf } from "./generation/constraint.js";
export type { Constraint, ConstraintOutcome } from "./generation/constraint.js";

// LoRA adapters in PEFT's format (read by engine.loadAdapter, written by the trainer)
export { parseLoraConfig, loraScaling } from "./adapters/lora_config.js";
export type { LoraConfig } from "./adapters/lora_config.js";
export { loadLoraAdapter } from "./adapters/peft_adapter.js";
export type { LoraAdapter, LoraModuleSpec, LoraTensorRef } from "./adapters/peft_adapter.js";

// LoRA fine-tuning (engine.createTrainer)
export { LoraTrainer } from "./training/lora_trainer.js";
export type { StepResult, EvaluationResult, TrainingBatch } from "./training/lora_trainer.js";
export { trainerOptionsSchema, loraOptionsSchema, optimizerOptionsSchema } from "./training/options.js";
export type { TrainerOptions, LoraOptions, OptimizerOptions } from "./training/options.js";
export type { TrainingExample, TrainingRow, PaddedBatch } from "./training/examples.js";
export type { LoraTarget } from "./training/lora_targets.js";
export { learningRate } from "./training/schedule.js";

// Model files
export { parseModelConfig, loadModelConfig, ernieConfigSchema } from "./model/config.js";
export type { ModelConfig } from "./model/config.js";
export { resolveWeightFiles } from "./model/weights.js";
export { quantizeModel, quantizeOptionsSchema } from "./model/quantize.js";
export type { QuantizeOptions } from "./model/quantize.js";

// GGUF (llama.cpp's format): read, write, convert a checkpoint
export { readGgufFile } from "./gguf/gguf_reader.js";
export type { GgufFile, GgufTensorInfo, GgufMetadataValue } from "./gguf/gguf_reader.js";
export { writeGguf, encodeTensor as encodeGgufTensor, fitsType as ggufTypeFits } from "./gguf/gguf_writer.js";
export type { GgufTensor, GgufRawTensor, GgufTensorType, GgufValue } from "./gguf/gguf_writer.js";
export { ggufTensorPlan, ggufModelMetadata, ggufArchitecture } from "./gguf/ernie_gguf_layout.js";
export type { GgufTensorPlanEntry, GgufTensorKind } from "./gguf/ernie_gguf_layout.js";
export { ggufTokenizerMetadata, tokenizerFromGguf } from "./gguf/gguf_tokenizer.js";
export { loadGgufModel, isGgufPath } from "./gguf/gguf_model.js";
export type { GgufModel } from "./gguf/gguf_model.js";
export { convertToGguf, convertToGgufOptionsSchema, prepareGgufConversion } from "./gguf/convert_to_gguf.js";
export type { ConvertToGgufOptions, GgufConversion } from "./gguf/convert_to_gguf.js";
export { GGML_TYPES, LOADABLE_GGML_TYPES, ggmlTypeName } from "./gguf/gguf_format.js";
export { toBf16Bits, fromBf16Bits, toF16Bits, fromF16Bits } from "./gguf/half.js";

// Tokenizer and chat
export { WenxinTokenizer } from "./tokenizer/tokenizer.js";
export { IncrementalDecoder } from "./tokenizer/incremental_decoder.js";
export { ChatTemplate } from "./chat/chat_template.js";
export type { ChatMessage } from "./chat/chat_template.js";

// Errors
export { WenxinError, ERROR_CODES } from "./errors.js";
export type { WenxinErrorCode, WenxinErrorDetails } from "./errors.js";

// Chat format: tools, tool calls and reasoning in ERNIE's markup (shared by the LangChain adapter and the server)
export { buildChatPrompt } from "./chat/chat_prompt.js";
export type { ChatPrompt, ChatPromptOptions } from "./chat/chat_prompt.js";
export type {
  ChatConstraint,
  JsonSchema,
  ResponseFormat,
  ToolCallMessagePart,
  ToolChoiceOption,
  ToolDefinition,
} from "./chat/chat_types.js";
export { ChatOutputParser } from "./chat/output_parser.js";
export type {
  ChatOutput,
  ChatOutputEvent,
  ChatOutputParserOptions,
  InvalidToolCall,
  ParsedToolCall,
} from "./chat/output_parser.js";
export { ChatTokenDecoder, CHAT_MARKUP_TOKENS } from "./chat/output_decoder.js";
export { JsonValueScanner } from "./chat/json_scanner.js";
export {
  planResponseFormat,
  planToolChoice,
  takesNoArguments,
  toolCallPrefix,
  toolCallSchema,
} from "./chat/tool_choice.js";
export type { ResponseFormatPlan, ToolPlan } from "./chat/tool_choice.js";
export {
  formatToolCall,
  normalizeToolTurns,
  renderToolsBlock,
  renderToolTurns,
  templateTakesTools,
  toolCallArguments,
  toPythonStyleJson,
  withSystemText,
} from "./chat/tool_prompt.js";
export { StopStringMatcher } from "./generation/stop_strings.js";

// System
export { systemInfo, measureReadBandwidth } from "./system_info.js";
export type { SystemInfo } from "./system_info.js";
