/**
 * The provider: `createWenxin(settings)` (or the default `wenxin`) turns a model id into AI SDK
 * models. Local mode (no `baseURL`): the id is a checkpoint directory, a `.gguf` file or a hub
 * repo id, loaded in-process with the provider's load options; every model of the same
 * checkpoint and options shares one engine. Remote mode: the id is the model name an OpenAI-compatible server serves.
 */
import { NoSuchModelError, type ProviderV3 } from "@ai-sdk/provider";
import { loadOptionalSetting } from "@ai-sdk/provider-utils";
import { parseOrThrow } from "@wenxin/engine/internal";

import { WenxinChatLanguageModel } from "./chat/wenxin_chat_language_model.js";
import { WenxinEmbeddingModel } from "./embedding/wenxin_embedding_model.js";
import { localSource, remoteSource, type ModelSource } from "./model_source.js";
import { fetchPost } from "./remote/fetch_post.js";
import {
  wenxinChatOptionsSchema,
  wenxinEmbeddingSettingsSchema,
  wenxinProviderSettingsSchema,
  type WenxinChatSettings,
  type WenxinEmbeddingSettings,
  type WenxinProviderSettings,
} from "./wenxin_settings.js";

export interface WenxinProvider extends ProviderV3 {
  /** A chat model: a checkpoint directory, `.gguf` file or hub repo id (local), or a served model name (remote). */
  (modelId: string, settings?: WenxinChatSettings): WenxinChatLanguageModel;
  languageModel(modelId: string, settings?: WenxinChatSettings): WenxinChatLanguageModel;
  chat(modelId: string, settings?: WenxinChatSettings): WenxinChatLanguageModel;
  embeddingModel(modelId: string, settings?: WenxinEmbeddingSettings): WenxinEmbeddingModel;
  /** The AI SDK 5 name of `embeddingModel`. */
  textEmbeddingModel(modelId: string, settings?: WenxinEmbeddingSettings): WenxinEmbeddingModel;
  /** Gives back the engines this provider's models hold (each closes once no one else holds it). */
  close(): Promise<void>;
}

export function createWenxin(settings: WenxinProviderSettings = {}): WenxinProvider {
  const { baseURL, apiKey, headers, fetch, hub, ...load } = parseOrThrow(
    wenxinProviderSettingsSchema,
    settings,
    "createWenxin settings",
  );
  // One source per model id: all of this provider's models of an id hold one lease.
  const sources = new Map<string, ModelSource>();

  const source = (modelId: string): ModelSource => {
    if (typeof modelId !== "string" || modelId.length === 0)
      throw new NoSuchModelError({ modelId: String(modelId), modelType: "languageModel", message: "empty model id" });
    let s = sources.get(modelId);
    if (s) return s;
    if (baseURL) {
      const post = fetchPost({
        baseURL,
        headers: () => {
          const key = loadOptionalSetting({ settingValue: apiKey, environmentVariableName: "WENXIN_API_KEY" });
          return { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers };
        },
        ...(fetch ? { fetch } : {}),
      });
      s = remoteSource(modelId, post);
    } else {
      s = localSource(modelId, load, {
        ...(hub?.revision ? { revision: hub.revision } : {}),
        ...(hub?.cacheDir ? { cache_dir: hub.cacheDir } : {}),
        ...(hub?.token ? { token: hub.token } : {}),
        ...(hub?.localFilesOnly ? { local_files_only: true } : {}),
      });
    }
    sources.set(modelId, s);
    return s;
  };

  const chat = (modelId: string, chatSettings: WenxinChatSettings = {}) =>
    new WenxinChatLanguageModel(
      modelId,
      parseOrThrow(wenxinChatOptionsSchema, chatSettings, "chat settings"),
      source(modelId),
    );
  const embedding = (modelId: string, embeddingSettings: WenxinEmbeddingSettings = {}) =>
    new WenxinEmbeddingModel(
      modelId,
      parseOrThrow(wenxinEmbeddingSettingsSchema, embeddingSettings, "embedding settings"),
      source(modelId),
    );

  const provider = (modelId: string, chatSettings?: WenxinChatSettings) => chat(modelId, chatSettings);
  return Object.assign(provider, {
    specificationVersion: "v3" as const,
    languageModel: chat,
    chat,
    embeddingModel: embedding,
    textEmbeddingModel: embedding,
    imageModel(modelId: string): never {
      throw new NoSuchModelError({ modelId, modelType: "imageModel" });
    },
    async close() {
      const all = [...sources.values()];
      sources.clear();
      await Promise.all(all.map((s) => s.close()));
    },
  });
}

/** The default provider: in-process engines with the engine's default load options. */
export const wenxin = createWenxin();
