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
export { closeSharedEngines, getSharedEngine } from "@wenxin/engine/internal";

// Remote mode
export { WenxinRemoteError } from "@wenxin/engine/internal";
export type { WenxinRemoteErrorCode } from "@wenxin/engine/internal";
