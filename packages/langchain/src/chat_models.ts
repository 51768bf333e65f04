/**
 * ChatWenxin: ERNIE 4.5 as a LangChain chat model, in-process on @wenxin/engine or on a remote
 * OpenAI-compatible server. See the package README for the API and examples/ for uses.
 */
import { stat } from "node:fs/promises";
import path from "node:path";

import type { BaseLanguageModelInput, StructuredOutputMethodOptions } from "@langchain/core/language_models/base";
import { BaseChatModel, type BindToolsInput, type LangSmithParams } from "@langchain/core/language_models/chat_models";
import type { ChatModelStreamEvent } from "@langchain/core/language_models/event";
import type { ModelProfile } from "@langchain/core/language_models/profile";
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import type { AIMessageChunk, BaseMessage, MessageContent } from "@langchain/core/messages";
import type { ChatGenerationChunk, ChatResult } from "@langchain/core/outputs";
import type { Runnable } from "@langchain/core/runnables";
import { getEnvironmentVariable } from "@langchain/core/utils/env";
import type { SerializableSchema } from "@langchain/core/utils/standard_schema";
import type { ZodV3Like, ZodV4Like } from "@langchain/core/utils/types";
import { Engine, LOAD_DEFAULTS, WenxinError, WenxinTokenizer, type LoadOptions } from "@wenxin/engine";
import {
  chatCompletionsBody,
  getSharedEngine,
  LocalChatBackend,
  MODEL_FILES,
  RemoteChatBackend,
  resolvePretrained,
  TOKENIZER_FILES,
  type HubDownloadOptions,
  type ChatBackend,
  type ChatDelta,
  type ChatRequest,
  type ChatTurn,
} from "@wenxin/engine/internal";

import { OpenAICompatibleClient } from "./remote/openai_client.js";
import { withStructuredOutput } from "./structured_output.js";
import {
  chatWenxinFieldsSchema,
  parseOptions,
  type ChatWenxinCallOptions,
  type ChatWenxinInput,
  type HubOptions,
} from "./types.js";
import { chunkOf, messageOf, MODEL_PROVIDER } from "./utils/chunks.js";
import { registerContentBlockTranslator } from "./utils/content_blocks.js";
import { toChatMessages } from "./utils/messages.js";
import { streamEventsOf } from "./utils/stream_events.js";
import { toToolChoice, toToolDefinition } from "./utils/tools.js";

registerContentBlockTranslator();

/** Any schema LangChain accepts for structured output. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the overloads below must match BaseChatModel's
type StructuredSchema<T extends Record<string, any>> =
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as BaseChatModel declares it
  SerializableSchema<T> | ZodV4Like<T> | ZodV3Like<T> | Record<string, any>;

/** A checkpoint path that exists (a directory or a `.gguf` file) is used as is; anything else is a hub repo id. */
async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

export class ChatWenxin extends BaseChatModel<ChatWenxinCallOptions> {
  static lc_name(): string {
    return "ChatWenxin";
  }

  /** Serializable with LangChain's `dumps` / `load`: `apiKey` is written as a secret reference, never its value. */
  lc_serializable = true;

  lc_namespace = ["langchain", "chat_models", "wenxin"];

  /** The checkpoint directory (local) or the served model name (remote). */
  readonly model: string;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly minP?: number;
  readonly repetitionPenalty?: number;
  readonly seed?: number;
  readonly doSample?: boolean;
  readonly maxTokens?: number;
  readonly stop?: string[];
  readonly thinking?: boolean;
  readonly timeout?: number;
  readonly load?: LoadOptions;
  readonly adapter?: string;
  readonly baseUrl?: string;
  readonly hub?: HubOptions;
  /** Remote mode: the checkpoint (directory or hub repo id) whose tokenizer getNumTokens uses. */
  readonly tokenizer?: string;

  private readonly apiKey?: string;
  private readonly headers?: Record<string, string>;
  private readonly givenEngine?: Engine;
  private backendPromise?: Promise<ChatBackend>;
  private loadedBackend?: ChatBackend;
  private checkpointPromise?: Promise<{ dir: string; fromHub: boolean }>;
  private countPromise?: Promise<(text: string) => Promise<number>>;

  constructor(fields: ChatWenxinInput) {
    super(fields);
    const { stopSequences, streaming: _streaming, ...rest } = fields;
    const own = Object.fromEntries(Object.entries(rest).filter(([k]) => k in chatWenxinFieldsSchema.shape));
    const f = parseOptions(chatWenxinFieldsSchema, { ...own, stop: fields.stop ?? stopSequences }, "ChatWenxin");
    if (f.model instanceof Engine) {
      this.givenEngine = f.model;
      this.model = f.model.dir;
      // Serialized as the checkpoint it runs, not as the engine object.
      this.lc_kwargs = { ...this.lc_kwargs, model: f.model.dir };
    } else {
      this.model = f.model;
    }
    this.temperature = f.temperature;
    this.topP = f.topP;
    this.topK = f.topK;
    this.minP = f.minP;
    this.repetitionPenalty = f.repetitionPenalty;
    this.seed = f.seed;
    this.doSample = f.doSample;
    this.maxTokens = f.maxTokens;
    this.stop = f.stop;
    this.thinking = f.thinking;
    this.timeout = f.timeout;
    this.load = f.load;
    this.adapter = f.adapter;
    this.baseUrl = f.baseUrl;
    this.hub = f.hub;
    this.tokenizer = f.tokenizer;
    if (this.adapter !== undefined && this.baseUrl !== undefined)
      throw new WenxinError(
        "ERR_WENXIN_INVALID_ARGUMENT",
        "ChatWenxin: 'adapter' applies to the local engine; against a server, name its adapter as 'model'",
        { subject: "adapter" },
      );
    this.apiKey = f.apiKey ?? (f.baseUrl ? getEnvironmentVariable("WENXIN_API_KEY") : undefined);
    this.headers = f.headers;
  }

  _llmType(): string {
    return "wenxin";
  }

  get lc_secrets(): Record<string, string> {
    return { apiKey: "WENXIN_API_KEY" };
  }

  /** The loaded engine (local mode): loads it now if it is not loaded yet (a hub repo id is fetched first). */
  async getEngine(): Promise<Engine> {
    if (this.baseUrl) throw new Error("ChatWenxin in remote mode has no local engine");
    return this.givenEngine ?? getSharedEngine((await this.checkpoint()).dir, this.load);
  }

  /**
   * Tokens in `content` by the model's own tokenizer, offline: the local checkpoint's (its
   * tokenizer files alone; the weights are not loaded for this), in remote mode the `tokenizer`
   * checkpoint's when given, else the server's `/tokenize` (as vLLM and `wenxin serve` offer it).
   * Text parts of multimodal content are counted; special tokens are not added.
   */
  async getNumTokens(content: MessageContent): Promise<number> {
    const text =
      typeof content === "string"
        ? content
        : content
            .map((part) => (typeof part === "string" ? part : part.type === "text" ? String(part.text) : ""))
            .join("");
    this.countPromise ??= this.tokenCounter();
    this.countPromise.catch(() => (this.countPromise = undefined));
    return (await this.countPromise)(text);
  }

  private async tokenCounter(): Promise<(text: string) => Promise<number>> {
    const local = (tokenizer: WenxinTokenizer) => async (text: string) => tokenizer.encode(text).length;
    if (this.givenEngine) return local(this.givenEngine.tokenizer);
    if (!this.baseUrl) return local(await WenxinTokenizer.fromDirectory((await this.checkpoint()).dir));
    if (this.tokenizer !== undefined) {
      const dir = (await exists(this.tokenizer))
        ? this.tokenizer
        : (await resolvePretrained(this.tokenizer, TOKENIZER_FILES, this.hubDownloadOptions())).dir;
      return local(await WenxinTokenizer.fromDirectory(dir));
    }
    // The server's /tokenize lives beside /v1, at the server's root.
    const root = this.baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "");
    const post = OpenAICompatibleClient.poster({
      baseUrl: root,
      ...(this.apiKey ? { apiKey: this.apiKey } : {}),
      ...(this.headers ? { headers: this.headers } : {}),
      caller: this.caller,
    });
    return async (text) => {
      const res = await post("/tokenize", { model: this.model, prompt: text, add_special_tokens: false });
      const body = (await res.json()) as { count?: unknown; tokens?: unknown };
      if (typeof body.count === "number") return body.count;
      if (Array.isArray(body.tokens)) return body.tokens.length;
      throw new WenxinError(
        "ERR_WENXIN_INVALID_ARGUMENT",
        `${root}/tokenize answered without a token count; give ChatWenxin a 'tokenizer' (a checkpoint directory or hub repo id)`,
        { subject: "tokenizer" },
      );
    };
  }

  /** Local mode: the checkpoint directory; a hub repo id is resolved through the hub cache (and fetched when allowed). */
  private checkpoint(): Promise<{ dir: string; fromHub: boolean }> {
    this.checkpointPromise ??= (async () => {
      if (await exists(this.model)) return { dir: this.model, fromHub: false };
      const { dir } = await resolvePretrained(this.model, MODEL_FILES, this.hubDownloadOptions());
      return { dir, fromHub: true };
    })();
    this.checkpointPromise.catch(() => (this.checkpointPromise = undefined));
    return this.checkpointPromise;
  }

  private hubDownloadOptions(): HubDownloadOptions {
    const hub = this.hub ?? {};
    return {
      ...(hub.revision ? { revision: hub.revision } : {}),
      ...(hub.cacheDir ? { cache_dir: hub.cacheDir } : {}),
      ...(hub.token ? { token: hub.token } : {}),
      ...(hub.localFilesOnly ? { local_files_only: true } : {}),
    };
  }

  get profile(): ModelProfile {
    const context =
      this.loadedBackend?.contextLength ??
      this.givenEngine?.maxContext ??
      (this.baseUrl ? undefined : (this.load?.maxContext ?? LOAD_DEFAULTS.maxContext));
    return {
      ...(context !== undefined ? { maxInputTokens: context, maxOutputTokens: context } : {}),
      toolCalling: true,
      toolChoice: true,
      structuredOutput: true,
      reasoningOutput: true,
      imageInputs: false,
      audioInputs: false,
      videoInputs: false,
      pdfInputs: false,
    };
  }

  getLsParams(options: this["ParsedCallOptions"]): LangSmithParams {
    return {
      ls_provider: MODEL_PROVIDER,
      ls_model_name: this.modelName,
      ls_model_type: "chat",
      ls_temperature: this.temperature,
      ls_max_tokens: this.maxTokens,
      ls_stop: options.stop ?? this.stop,
    };
  }

  /** The request parameters in OpenAI's names (also the body of remote requests). */
  invocationParams(options?: this["ParsedCallOptions"]): Record<string, unknown> {
    const {
      messages: _m,
      stream: _s,
      stream_options: _o,
      ...params
    } = chatCompletionsBody(this.modelName, this.request([], options ?? {}));
    return params;
  }

  _identifyingParams(): Record<string, unknown> {
    return { model: this.model, baseUrl: this.baseUrl, ...this.sampling() };
  }

  bindTools(
    tools: BindToolsInput[],
    kwargs?: Partial<ChatWenxinCallOptions>,
  ): Runnable<BaseLanguageModelInput, AIMessageChunk, ChatWenxinCallOptions> {
    // Validate now, so that a tool we cannot read fails at bind time.
    for (const tool of tools) toToolDefinition(tool);
    return this.withConfig({ tools, ...kwargs } as Partial<ChatWenxinCallOptions>);
  }

  async _generate(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): Promise<ChatResult> {
    let turn: ChatTurn | undefined;
    for await (const delta of this.deltas(messages, options)) {
      if (delta.type === "end") turn = delta.turn;
      else if (delta.type !== "reasoning") await this.notifyToken(delta, runManager);
    }
    const message = messageOf(turn!);
    return { generations: [{ text: turn!.content, message, generationInfo: { finish_reason: turn!.finishReason } }] };
  }

  async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    for await (const delta of this.deltas(messages, options)) {
      const chunk = chunkOf(delta);
      yield chunk;
      if (delta.type !== "reasoning")
        await runManager?.handleLLMNewToken(chunk.text, undefined, undefined, undefined, undefined, { chunk });
    }
  }

  async *_streamChatModelEvents(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
  ): AsyncGenerator<ChatModelStreamEvent> {
    yield* streamEventsOf(this.deltas(messages, options));
  }

  /**
   * A runnable that returns the reply parsed into `schema` (zod or JSON schema): `jsonSchema`
   * (default) and `functionCalling` constrain generation to the schema; `jsonMode` to JSON.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as BaseChatModel declares it
  withStructuredOutput<RunOutput extends Record<string, any> = Record<string, any>>(
    schema: StructuredSchema<RunOutput>,
    config?: StructuredOutputMethodOptions<false>,
  ): Runnable<BaseLanguageModelInput, RunOutput>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as BaseChatModel declares it
  withStructuredOutput<RunOutput extends Record<string, any> = Record<string, any>>(
    schema: StructuredSchema<RunOutput>,
    config?: StructuredOutputMethodOptions<true>,
  ): Runnable<BaseLanguageModelInput, { raw: BaseMessage; parsed: RunOutput }>;
  withStructuredOutput(
    schema: StructuredSchema<Record<string, unknown>>,
    config?: StructuredOutputMethodOptions<boolean>,
  ): Runnable<BaseLanguageModelInput, unknown> {
    return withStructuredOutput(this as never, schema as Record<string, unknown>, config);
  }

  private get modelName(): string {
    return (
      this.loadedBackend?.modelName ?? (this.givenEngine ? this.givenEngine.dir.split(/[\\/]/).pop()! : this.model)
    );
  }

  private sampling(): ChatRequest["sampling"] {
    const s = {
      temperature: this.temperature,
      topP: this.topP,
      topK: this.topK,
      minP: this.minP,
      repetitionPenalty: this.repetitionPenalty,
      seed: this.seed,
      doSample: this.doSample,
      maxTokens: this.maxTokens,
    };
    return Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined));
  }

  private request(messages: BaseMessage[], options: Partial<this["ParsedCallOptions"]>): ChatRequest {
    const tools = (options.tools ?? []).map((t) => toToolDefinition(t, options.strict));
    const toolChoice = toToolChoice(options.tool_choice);
    const thinking = options.thinking ?? this.thinking;
    return {
      messages: toChatMessages(messages),
      tools,
      ...(toolChoice !== undefined ? { toolChoice } : {}),
      ...(options.response_format !== undefined ? { responseFormat: options.response_format } : {}),
      ...(thinking !== undefined ? { thinking } : {}),
      sampling: this.sampling(),
      stop: options.stop ?? this.stop ?? [],
    };
  }

  private backend(): Promise<ChatBackend> {
    this.backendPromise ??= (async () => {
      const backend: ChatBackend = this.baseUrl
        ? new RemoteChatBackend(
            OpenAICompatibleClient.poster({
              baseUrl: this.baseUrl,
              ...(this.apiKey ? { apiKey: this.apiKey } : {}),
              ...(this.headers ? { headers: this.headers } : {}),
              caller: this.caller,
            }),
            this.model,
          )
        : await this.localBackend();
      this.loadedBackend = backend;
      return backend;
    })();
    this.backendPromise.catch(() => (this.backendPromise = undefined));
    return this.backendPromise;
  }

  /** The engine's backend, with the adapter (loaded once per engine, named by its directory) when given. */
  private async localBackend(): Promise<ChatBackend> {
    const engine = await this.getEngine();
    // A hub snapshot's directory is named by its commit: the repo id names the model instead.
    const modelName = !this.givenEngine && (await this.checkpoint()).fromHub ? this.model : undefined;
    if (this.adapter === undefined) return new LocalChatBackend(engine, undefined, modelName);
    const name = path.resolve(this.adapter);
    if (!engine.loadedAdapters.includes(name)) await engine.loadAdapter(name, name);
    return new LocalChatBackend(engine, name, modelName);
  }

  /** One turn as deltas: the call's signal, plus the instance's default timeout. */
  private async *deltas(messages: BaseMessage[], options: this["ParsedCallOptions"]): AsyncGenerator<ChatDelta> {
    options.signal?.throwIfAborted();
    const request = this.request(messages, options);
    const signals = [
      options.signal,
      options.timeout === undefined && this.timeout !== undefined ? AbortSignal.timeout(this.timeout) : undefined,
    ].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    const backend = await this.backend();
    yield* backend.stream(request, signal);
  }

  private async notifyToken(delta: ChatDelta, runManager?: CallbackManagerForLLMRun): Promise<void> {
    if (!runManager) return;
    const chunk = chunkOf(delta);
    await runManager.handleLLMNewToken(chunk.text, undefined, undefined, undefined, undefined, { chunk });
  }
}
