// @wenxin/server: an OpenAI-compatible HTTP server for ERNIE 4.5 models.

// Server
export { startServer } from "./server.js";
export type { StartServerOptions, WenxinServer } from "./server.js";
export { serverOptionsSchema, parseServerOptions } from "./options.js";
export type { ServerOptions, ServerOptionsInput } from "./options.js";
export { buildApp } from "./app.js";
export { ServedModel } from "./served_model.js";
export type { ModelState } from "./served_model.js";
export { AdmissionQueue } from "./admission.js";
export { ServerMetrics } from "./metrics.js";

// Wire types
export type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "./routes/chat_completions/protocol.js";
export type { Completion, CompletionRequest } from "./routes/completions/protocol.js";
export type { EmbeddingList, EmbeddingRequest } from "./routes/embeddings/protocol.js";
export type { ModelCard, ModelList } from "./routes/models/protocol.js";

// Errors
export { ApiError, toApiError } from "./errors.js";
export type { ApiErrorBody, ApiErrorType } from "./errors.js";
