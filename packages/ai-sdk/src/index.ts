// @wenxin/ai-sdk: ERNIE 4.5 as a Vercel AI SDK provider, in-process on @wenxin/engine or on a
// remote OpenAI-compatible server.

// Provider
export { createWenxin, wenxin } from "./wenxin_provider.js";
export type { WenxinProvider } from "./wenxin_provider.js";

// Models
export { WenxinChatLanguageModel } from "./chat/wenxin_chat_language_model.js";
export { WenxinEmbeddingModel } from "./embedding/wenxin_embedding_model.js";

// Settings
export {
  wenxinChatOptionsSchema,
  wenxinEmbeddingSettingsSchema,
  wenxinProviderSettingsSchema,
} from "./wenxin_settings.js";
export type { WenxinChatSettings, WenxinEmbeddingSettings, WenxinProviderSettings } from "./wenxin_settings.js";

// Shared engines (every provider's models of one checkpoint and load options share one engine)
export { closeSharedEngines } from "@wenxin/engine/internal";
