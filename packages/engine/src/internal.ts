// @wenxin/engine/internal: what the sibling adapters (@wenxin/langchain, @wenxin/ai-sdk) share
// beyond the public API. Not a stable interface: names here may change with the adapters.

// Option validation: a bad option throws ERR_WENXIN_INVALID_ARGUMENT naming it
export { parseOrThrow } from "./generation/options.js";

// Engines shared and leased per checkpoint and load options
export { acquireSharedEngine, closeSharedEngines, getSharedEngine, sharedEngineLeases } from "./shared_engines.js";
export type { EngineLease } from "./shared_engines.js";

// One chat turn as deltas, on the in-process engine or a remote OpenAI-compatible server
export { deltasOf, turnFinishReason } from "./chat/chat_backend.js";
export type { ChatBackend, ChatDelta, ChatRequest, ChatSampling, ChatTurn, ChatUsage } from "./chat/chat_backend.js";
export { engineSupportsConstraints, LocalChatBackend } from "./chat/local_chat.js";
export { chatCompletionsBody, RemoteChatBackend, toOpenAIToolChoice } from "./remote/remote_chat.js";
export type { RemotePost } from "./remote/remote_chat.js";
export { embedRemote } from "./remote/remote_embeddings.js";
export type { RemoteEmbeddings } from "./remote/remote_embeddings.js";
export { readServerSentEvents } from "./remote/sse.js";
export { WenxinRemoteError } from "./remote/remote_error.js";
export type { WenxinRemoteErrorCode } from "./remote/remote_error.js";

// Safetensors files read and written piecewise (LoRA adapters, merged checkpoints)
export { readSafetensorsHeader, readTensorF32, writeSafetensors } from "./model/safetensors_file.js";
export type { SafetensorsHeader, TensorInfo, TensorSource } from "./model/safetensors_file.js";

// A PEFT adapter checked against a model config (engine.loadAdapter's reader)
export { describeAdapter } from "./adapters/peft_adapter.js";

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
