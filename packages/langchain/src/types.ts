/**
 * Option schemas of ChatWenxin and WenxinEmbeddings. Sampling and load options are the engine's
 * own schemas, so each option is defined once.
 */
import { Engine } from "@wenxin/engine";
import { loadOptionsSchema, parseOrThrow, samplingOptionsSchema, type ResponseFormat } from "@wenxin/engine/internal";
import type {
  BaseChatModelCallOptions,
  BaseChatModelParams,
  BindToolsInput,
} from "@langchain/core/language_models/chat_models";
import { z } from "zod";

/**
 * A loaded engine, or the checkpoint to load (shared with every instance that names it): a
 * directory, a `.gguf` file, or a Hugging Face hub repo id ("baidu/ERNIE-4.5-0.3B-PT") resolved
 * through the hub cache (and downloaded into it unless `hub.localFilesOnly` or HF_HUB_OFFLINE=1).
 */
const modelSchema = z.union([z.string().min(1), z.custom<Engine>((v) => v instanceof Engine, "an Engine")]);

/** Remote mode: an OpenAI-compatible server (our own, or vLLM / FastDeploy serving ERNIE 4.5). */
export const remoteOptionsSchema = z.object({
  /** e.g. `http://gpu-host:8000/v1`; when set, `model` is the served model name. */
  baseUrl: z.string().url().optional(),
  /** Sent as `Authorization: Bearer …` (default: `WENXIN_API_KEY` from the environment). */
  apiKey: z.string().optional(),
  /** Extra request headers. */
  headers: z.record(z.string(), z.string()).optional(),
});

/** Hub repo ids as `model` (or `tokenizer`): where and what to fetch. */
export const hubOptionsSchema = z
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
  .strict();

export type HubOptions = z.infer<typeof hubOptionsSchema>;

export const chatWenxinFieldsSchema = samplingOptionsSchema.extend({
  model: modelSchema,
  /** Most tokens to generate per call (default: the checkpoint's generation defaults, else 256). */
  maxTokens: z.number().int().positive().optional(),
  /** Stop sequences: the reply ends before the first one. */
  stop: z.array(z.string()).optional(),
  /** Reasoning on (`<think>` opened) or off; unset leaves the chat template's default. */
  thinking: z.boolean().optional(),
  /** Default per-call timeout in milliseconds (a call's own `timeout` wins). */
  timeout: z.number().positive().optional(),
  /** How to load `model` when it is a directory. */
  load: loadOptionsSchema.optional(),
  /**
   * A LoRA adapter applied to every call (local mode): a PEFT adapter directory, as `wenxin finetune`
   * or Python's peft saves it. In remote mode, name the server's adapter as `model` instead.
   */
  adapter: z.string().min(1).optional(),
  /** Hub repo ids as `model` or `tokenizer`: revision, cache, token, offline. */
  hub: hubOptionsSchema.optional(),
  /**
   * Remote mode: the checkpoint whose tokenizer counts tokens for getNumTokens (a directory or hub
   * repo id; only its tokenizer files are fetched). Without it, the server's /tokenize counts.
   */
  tokenizer: z.string().min(1).optional(),
  ...remoteOptionsSchema.shape,
});

export type ChatWenxinFields = z.input<typeof chatWenxinFieldsSchema>;

/** Constructor fields of ChatWenxin: the options above plus LangChain's (callbacks, maxRetries, …). */
export type ChatWenxinInput = ChatWenxinFields &
  BaseChatModelParams & {
    /** Alias of `stop` (LangChain's standard name). */
    stopSequences?: string[];
    /** Accepted for compatibility; streaming is always available through `stream()`. */
    streaming?: boolean;
  };

export interface ChatWenxinCallOptions extends BaseChatModelCallOptions {
  /** Tools for this call (`bindTools` sets them). */
  tools?: BindToolsInput[];
  /** Constrain the arguments of every bound tool to its schema, even for unforced calls. */
  strict?: boolean;
  /** OpenAI's `response_format` (`withStructuredOutput` sets it). */
  response_format?: ResponseFormat;
  /** Overrides the instance's `thinking`. */
  thinking?: boolean;
}

export const wenxinEmbeddingsFieldsSchema = z.object({
  model: modelSchema,
  /** Texts per engine call (each call embeds its texts together as parallel sequences). Default 32. */
  batchSize: z.number().int().positive().default(32),
  load: loadOptionsSchema.optional(),
  ...remoteOptionsSchema.shape,
});

export type WenxinEmbeddingsFields = z.input<typeof wenxinEmbeddingsFieldsSchema>;

/** Validates options with `schema`; a bad option throws ERR_WENXIN_INVALID_ARGUMENT naming it. */
export const parseOptions = parseOrThrow;
