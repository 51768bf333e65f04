// @wenxin/engine/internal: what the sibling packages (langchain, ai-sdk, server, transformers, cli,
// bench) build on: option schemas, model-file readers and writers, the chat format, the chat
// backends the adapters share. Not a stable user API: names here may change with the adapters.

// Options (parseOrThrow: a bad option throws ERR_WENXIN_INVALID_ARGUMENT naming it)
export { loadOptionsSchema, kvCacheTokensFor } from "./engine.js";
export { samplingOptionsSchema, generateOptionsSchema, parseOrThrow } from "./generation/options.js";
export { constraintSchema, jsonSchemaWarnings } from "./generation/constraint.js";
export { constraintThreadsStarted, startConstraintThreads } from "./generation/constraint_threads.js";
export { StopStringMatcher, STOP_STRING_LIMITS } from "./generation/stop_strings.js";
// The nice value of the lanes that run clients' costliest work (tests of what they compute set a milder one)
export { LOW_PRIORITY_NICE, lowPriorityNice, setLowPriorityNice } from "./worker/low_priority.js";

// Model files (safetensors read and written piecewise: LoRA adapters, merged checkpoints)
export { parseModelConfig, loadModelConfig, ernieConfigSchema } from "./model/config.js";
export {
  decodeTensorF32,
  encodeSafetensors,
  encodeSafetensorsHeader,
  parseSafetensorsBuffer,
  parseSafetensorsHeader,
  readSafetensorsHeader,
  readSafetensorsHeaderSync,
  readTensorF32,
  readTensorRowsF32Sync,
  writeSafetensors,
} from "./model/safetensors_file.js";
export type { SafetensorsHeader, TensorEntry, TensorInfo, TensorSource } from "./model/safetensors_file.js";
export { resolveWeightFiles } from "./model/weights.js";
export { readIfExists, readJsonFile, readJsonObjectFile, parseJson, parseJsonObject } from "./json_file.js";
export {
  canonicalTensorName,
  checkpointTensors,
  fusedExportRows,
  headTensor,
  isMoeLayer,
  moeLayerEnd,
  parameterCount,
  tensorNameTable,
  tensorShape,
} from "./model/ernie_layout.js";
export type { CheckpointTensor, TensorKind, TensorNameEntry, TensorNameTable } from "./model/ernie_layout.js";
export { quantizeOptionsSchema } from "./model/quantize.js";

// LoRA adapters in PEFT's format, checked against a model config (engine.loadAdapter's reader)
export { parseLoraConfig, loraScaling } from "./adapters/lora_config.js";
export { loadLoraAdapter, describeAdapter } from "./adapters/peft_adapter.js";

// LoRA fine-tuning options
export { trainerOptionsSchema, loraOptionsSchema, optimizerOptionsSchema } from "./training/options.js";
export { learningRate } from "./training/schedule.js";
// Seeded randomness (mulberry32): the trainer's, and what benchmarks and tests replay runs with
export { Random } from "./training/random.js";

// GGUF: read, write, convert
export { readGgufFile } from "./gguf/gguf_reader.js";
export type { GgufFile, GgufTensorInfo, GgufMetadataValue } from "./gguf/gguf_reader.js";
export { writeGguf, encodeTensor as encodeGgufTensor, fitsType as ggufTypeFits } from "./gguf/gguf_writer.js";
export type { GgufTensor, GgufRawTensor, GgufTensorType, GgufValue } from "./gguf/gguf_writer.js";
export { ggufTensorPlan, ggufModelMetadata, ggufArchitecture } from "./gguf/ernie_gguf_layout.js";
export type { GgufTensorPlanEntry, GgufTensorKind } from "./gguf/ernie_gguf_layout.js";
export { ggufTokenizerMetadata, tokenizerFromGguf } from "./gguf/gguf_tokenizer.js";
export { loadGgufModel, isGgufPath } from "./gguf/gguf_model.js";
export type { GgufModel } from "./gguf/gguf_model.js";
export { convertToGgufOptionsSchema, prepareGgufConversion } from "./gguf/convert_to_gguf.js";
export type { GgufConversion } from "./gguf/convert_to_gguf.js";
export { GGML_TYPES, LOADABLE_GGML_TYPES, ggmlTypeName } from "./gguf/gguf_format.js";
export { toBf16Bits, fromBf16Bits, toF16Bits, fromF16Bits, widenHalf } from "./gguf/half.js";

// Chat format: tools, tool calls and reasoning in ERNIE's markup (the LangChain adapter and the server)
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
export { ChatTurnDecoder } from "./chat/chat_turn_decoder.js";
export type { ChatTurnDecoderOptions } from "./chat/chat_turn_decoder.js";
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

// A progress line for long steps (the CLI, the benchmarks' model builds)
export { ProgressLine, withProgress } from "./progress_line.js";
export type { ProgressStream } from "./progress_line.js";

// Engines shared and leased per checkpoint and load options
export { acquireSharedEngine, closeSharedEngines, getSharedEngine, sharedEngineLeases } from "./shared_engines.js";
export type { EngineLease } from "./shared_engines.js";

// One chat turn as deltas, on the in-process engine or a remote OpenAI-compatible server
export { deltasOf, turnFinishReason } from "./chat/chat_backend.js";
export type { ChatBackend, ChatDelta, ChatRequest, ChatSampling, ChatTurn, ChatUsage } from "./chat/chat_backend.js";
export { LocalChatBackend } from "./chat/local_chat.js";
export { chatCompletionsBody, RemoteChatBackend, toOpenAIToolChoice } from "./remote/remote_chat.js";
export type { RemotePost } from "./remote/remote_chat.js";
export { embedRemote } from "./remote/remote_embeddings.js";
export type { RemoteEmbeddings } from "./remote/remote_embeddings.js";
export { readServerSentEvents } from "./remote/sse.js";
export { WenxinRemoteError } from "./remote/remote_error.js";
export type { WenxinRemoteErrorCode } from "./remote/remote_error.js";

// The Hugging Face hub: a checkpoint directory or a hub repo id → a local directory (files
// fetched into the shared cache, as Python's huggingface_hub lays it out)
export { env } from "./hub/settings.js";
export type { ProgressInfo, ProgressCallback } from "./hub/settings.js";
export { hf_hub_download, resolveHubFile } from "./hub/file_download.js";
export type { HubDownloadOptions } from "./hub/file_download.js";
export {
  resolvePretrained,
  MODEL_FILES,
  TOKENIZER_FILES,
  CONFIG_FILES,
  GENERATION_FILES,
  ADAPTER_FILES,
} from "./hub/resolve_pretrained.js";
export type { FileRequest, ResolvedLocation } from "./hub/resolve_pretrained.js";
export { HubError } from "./hub/hub_error.js";
export type { HubErrorReason } from "./hub/hub_error.js";

// Jobs on worker threads (the server's large-body parser), and a thread's own CPU time
export { JobThreads } from "./worker/job_threads.js";
export type { JobThreadsOptions, JobOptions, JobFailure } from "./worker/job_threads.js";
export { ThreadClock, ownCpuMs, ownThreadId, threadCpuMs } from "./worker/thread_cpu.js";
