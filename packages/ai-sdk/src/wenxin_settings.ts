/**
 * Settings of the provider, its chat models and its embedding models. Load and sampling options
 * are the engine's own schemas, so each option is defined once.
 */
import type { FetchFunction } from "@ai-sdk/provider-utils";
import { loadOptionsSchema, samplingOptionsSchema } from "@wenxin/engine/internal";
import { z } from "zod";

/** The provider: how to load local engines, or which OpenAI-compatible server to call. */
export const wenxinProviderSettingsSchema = loadOptionsSchema.extend({
  /**
   * Remote mode: the base URL of an OpenAI-compatible ERNIE 4.5 server (`wenxin serve`, vLLM,
   * FastDeploy), e.g. `http://gpu-host:8000/v1`; model ids are then the served model names.
   */
  baseURL: z.string().url().optional(),
  /** Sent as `Authorization: Bearer …` in remote mode (default: `WENXIN_API_KEY` from the environment). */
  apiKey: z.string().optional(),
  /** Extra request headers in remote mode. */
  headers: z.record(z.string(), z.string()).optional(),
  /** Local model ids that are hub repo ids ("baidu/ERNIE-4.5-0.3B-PT"): where and what to fetch. */
  hub: z
    .object({
      /** Branch, tag or commit (default "main"). */
      revision: z.string().min(1).optional(),
      /** Cache root (default HF_HUB_CACHE, else $HF_HOME/hub: the cache Python's huggingface_hub uses). */
      cacheDir: z.string().min(1).optional(),
      /** Hub token (default HF_TOKEN or the stored login). */
      token: z.string().min(1).optional(),
      /** Use only the cache, never the network (also HF_HUB_OFFLINE=1). */
      localFilesOnly: z.boolean().optional(),
    })
    .strict()
    .optional(),
  /** A fetch implementation for remote mode (tests, proxies); default the global fetch. */
  fetch: z.custom<FetchFunction>((v) => typeof v === "function", "a fetch function").optional(),
});

export type WenxinProviderSettings = z.input<typeof wenxinProviderSettingsSchema>;

/**
 * Chat settings: given as `wenxin(modelId, settings)` for every call, or per call as
 * `providerOptions: { wenxin: {...} }` (which wins).
 */
export const wenxinChatOptionsSchema = samplingOptionsSchema
  .pick({ minP: true, repetitionPenalty: true, doSample: true })
  .extend({
    /** Reasoning on (`<think>` opened) or off; unset leaves the chat template's default. */
    thinking: z.boolean().optional(),
  })
  .strict();

export type WenxinChatSettings = z.input<typeof wenxinChatOptionsSchema>;

export const wenxinEmbeddingSettingsSchema = z
  .object({
    /** Texts per call (embedMany splits larger lists; the calls run in parallel on one engine). Default 32. */
    maxEmbeddingsPerCall: z.number().int().positive().optional(),
  })
  .strict();

export type WenxinEmbeddingSettings = z.input<typeof wenxinEmbeddingSettingsSchema>;
