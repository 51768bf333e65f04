// @wenxin/langchain: ERNIE 4.5 for LangChain.js, in-process on @wenxin/engine or on a remote
// OpenAI-compatible server.

// Models
export { ChatWenxin } from "./chat_models.js";
export { WenxinEmbeddings } from "./embeddings.js";
export type { WenxinEmbeddingsInput } from "./embeddings.js";

// Options
export { chatWenxinFieldsSchema, remoteOptionsSchema, wenxinEmbeddingsFieldsSchema } from "./types.js";
export type { ChatWenxinCallOptions, ChatWenxinFields, ChatWenxinInput, WenxinEmbeddingsFields } from "./types.js";

// Shared engines
export { closeSharedEngines, getSharedEngine } from "./engine_cache.js";

// Remote mode
export { WenxinRemoteError } from "./remote/openai_client.js";
export type { WenxinRemoteErrorCode } from "./remote/openai_client.js";
