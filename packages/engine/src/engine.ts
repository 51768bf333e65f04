import os from "node:os";
import path from "node:path";

import { z } from "zod";

import { ChatTemplate, type ChatMessage } from "./chat/chat_template.js";
import { WenxinError, fromNativeError } from "./errors.js";
import {
  compileConstraint,
  constraintSchema,
  preparedConstraint,
  rememberPrepared,
  type Constraint,
} from "./generation/constraint.js";
import { compileConstraintOffThread } from "./generation/constraint_threads.js";
import { CONSTRAINT_LIMITS, type ConstraintLimits } from "./generation/grammar/compile_budget.js";
import { GenerationStream } from "./generation/generation_stream.js";
import {
  generateOptionsSchema,
  parseOrThrow,
  resolveSampling,
  type GenerateOptionsBase,
} from "./generation/options.js";
import { tokenBytes } from "./generation/token_bytes.js";
import type { ExampleEncoder } from "./training/examples.js";
import { LoraTrainer } from "./training/lora_trainer.js";
import type { TrainerOptions } from "./training/options.js";
import { loadModelConfig, type ModelConfig } from "./model/config.js";
import { loadGenerationDefaults, type GenerationDefaults } from "./model/generation_config.js";
import { resolveWeightFiles } from "./model/weights.js";
import { isGgufPath, loadGgufModel } from "./gguf/gguf_model.js";
import { loadLoraAdapter } from "./adapters/peft_adapter.js";
import type {
  NativeEngine,
  NativeEngineOptions,
  NativeEngineStats,
  NativeJobKind,
  NativeLoraModule,
  NativeTokenEvent,
} from "./native/addon_types.js";
import { nativeAddon } from "./native/binding.js";
import { WenxinTokenizer } from "./tokenizer/tokenizer.js";

/**
 * Engine.load's defaults, declared here only: the CLI's help and estimates read them, and the
 * native engine receives every option resolved (nativeEngineOptions) and validates them against
 * the model's shape before any weight is mapped (native/include/wenxin/engine_options.h holds no
 * defaults). Options are parsed against loadOptionsSchema before any file is read.
 */
export const LOAD_DEFAULTS = {
  maxContext: 4096,
  /** The KV cache budget without kvCacheBytes / kvCacheTokens / maxSequences: this many × maxContext tokens. */
  kvCacheContexts: 4,
  maxSequences: 128,
  maxBatchTokens: 512,
  maxEmbeddingTokens: 65536,
  kvCache: "f32",
  prefixCaching: true,
  weights: "bf16",
} as const;

export const loadOptionsSchema = z.object({
  /** Worker threads for the forward pass (default: the number of CPUs). */
  threads: z.number().int().min(1).max(1024).optional(),
  /** Longest sequence (prompt + generated) in tokens; clamped to the model's maximum. Default 4096. */
  maxContext: z.number().int().positive().optional(),
  /**
   * The KV cache budget over all concurrent sequences, in bytes. Alternatives, in this order:
   * `kvCacheTokens`, or `maxSequences` × maxContext tokens; default 4 × maxContext tokens.
   * Requests that do not fit wait; one that could never fit is refused at submit.
   */
  kvCacheBytes: z.number().int().positive().optional(),
  /** KV cache budget over all concurrent sequences, in tokens. */
  kvCacheTokens: z.number().int().positive().optional(),
  /** Sequences running at once (default 128); more requests wait in arrival order. */
  maxSequences: z.number().int().positive().optional(),
  /** Tokens per engine step: one per decoding sequence, the rest prompt chunks (default 512). */
  maxBatchTokens: z.number().int().positive().optional(),
  /** Tokens over all inputs of one `embed` call (default 65536); a larger request is refused. */
  maxEmbeddingTokens: z.number().int().positive().optional(),
  /** KV cache precision: "f32" (exact, default), "bf16" (half the memory), "int8" (a quarter, per-head scales). */
  kvCache: z.enum(["f32", "bf16", "int8"]).optional(),
  /** Reuse the KV cache of identical prompt prefixes across requests (default true). */
  prefixCaching: z.boolean().optional(),
  /**
   * How matrices are held: "bf16" as stored (exact float32 compute), or quantized once at load:
   * "q8" (int8, per-row scales), "q4" (int4, blocks of 32 with fp16 scales), "fp8" (e4m3, per-row scales).
   */
  weights: z.enum(["bf16", "q8", "q4", "fp8"]).optional(),
  /**
   * A Jinja chat template (its source text) used instead of the checkpoint's own (as vLLM's and
   * llama-server's `--chat-template`); also gives a model without one a template.
   */
  chatTemplate: z.string().min(1).optional(),
});

export type LoadOptions = z.infer<typeof loadOptionsSchema>;

/**
 * The KV cache budget in tokens when no byte budget is given: kvCacheTokens, else one context per
 * running sequence when maxSequences is given, else LOAD_DEFAULTS.kvCacheContexts contexts.
 */
export function kvCacheTokensFor(opts: LoadOptions, maxContext: number): number {
  const tokens = opts.kvCacheTokens ?? (opts.maxSequences ?? LOAD_DEFAULTS.kvCacheContexts) * maxContext;
  if (!Number.isSafeInteger(tokens))
    throw new WenxinError(
      "ERR_WENXIN_INVALID_ARGUMENT",
      `maxSequences ${opts.maxSequences} × maxContext ${maxContext} is impossibly large`,
      { subject: "maxSequences" },
    );
  return tokens;
}

/** Every native engine option, the defaults filled in; `maxContext` is already clamped to the model's maximum. */
export function nativeEngineOptions(opts: LoadOptions, maxContext: number): NativeEngineOptions {
  return {
    threads: opts.threads ?? Math.max(1, os.availableParallelism()),
    maxContext,
    kvCacheBytes: opts.kvCacheBytes ?? 0,
    kvCacheTokens: opts.kvCacheBytes !== undefined ? 0 : kvCacheTokensFor(opts, maxContext),
    maxSequences: opts.maxSequences ?? LOAD_DEFAULTS.maxSequences,
    maxBatchTokens: opts.maxBatchTokens ?? LOAD_DEFAULTS.maxBatchTokens,
    maxEmbeddingTokens: opts.maxEmbeddingTokens ?? LOAD_DEFAULTS.maxEmbeddingTokens,
    kvCache: opts.kvCache ?? LOAD_DEFAULTS.kvCache,
    prefixCaching: opts.prefixCaching ?? LOAD_DEFAULTS.prefixCaching,
    weights: opts.weights ?? LOAD_DEFAULTS.weights,
  };
}

/** What engine.stats() reports. */
export type EngineStats = NativeEngineStats;

/** What to generate from: raw text, token ids, or a conversation rendered with the chat template. */
export type GenerateInput =
  | { prompt: string; inputIds?: never; messages?: never }
  | { inputIds: ArrayLike<number>; prompt?: never; messages?: never }
  | { messages: ChatMessage[]; tools?: unknown[]; prompt?: never; inputIds?: never };

export type GenerateOptions = GenerateInput & GenerateOptionsBase & { signal?: AbortSignal };

/** Full-sequence outputs of one forward pass, for debugging and golden comparisons. */
export interface ForwardInspection {
  /** [tokens × vocab] */
  logits: Float32Array;
  /** hiddenStates[i], [tokens × hidden]: i = 0 embeddings, i = 1..L-1 input of layer i, i = L final norm output. */
  hiddenStates: Float32Array[];
  /** MoE layer index → raw router logits [tokens × experts]. */
  routerLogits: Map<number, Float32Array>;
}

/** A LoRA adapter as engine.loadAdapter takes it, described module by module (see adapters/peft_adapter.ts). */
export interface LoraAdapterSpec {
  config: {
    modules: {
      /**
       * The adapted layer's checkpoint name, e.g. "model.layers.0.self_attn.q_proj", or a fused routed-expert
       * parameter ("model.layers.1.mlp.experts.gate_up_proj", with `experts`).
       */
      module: string;
      /** y += scaling · B(A(x)) */
      scaling: number;
      loraA: LoraTensorSpec;
      loraB: LoraTensorSpec;
      /** Routed experts sharing a fused parameter: A is [experts·rank, in], B [out, experts·rank] (peft's layout). */
      experts?: number;
    }[];
  };
}

export interface LoraTensorSpec {
  file: string;
  dtype: string;
  /** lora_A: [rank, in]; lora_B: [out, rank] */
  shape: number[];
  byteOffset: number;
  byteLength: number;
}

/** Ids that end an assistant turn in ERNIE's chat formats, when the vocabulary has them. */
const CHAT_END_TOKENS = ["<|end_of_sentence|>"];
const THINKING_END_TOKENS = ["<|im_end|>"];

/**
 * An ERNIE 4.5 model loaded from a checkpoint directory, ready to tokenize, score, embed and
 * generate. Generation runs on the engine's native thread; many requests may run at once.
 */
export class Engine {
  private nextId = 1;
  private readonly adapters = new Map<string, number>();
  private nextAdapterId = 0;
  private readonly streams = new Map<number, GenerationStream>();
  private closed = false;
  private vocabularySent = false;

  private constructor(
    private readonly native: NativeEngine,
    readonly dir: string,
    readonly config: ModelConfig,
    readonly tokenizer: WenxinTokenizer,
    readonly chatTemplate: ChatTemplate | undefined,
    readonly generationDefaults: GenerationDefaults,
    /** Token ids that end every generation. */
    readonly stopTokenIds: readonly number[],
    readonly maxContext: number,
  ) {}

  /** Loads `dir` (config.json, safetensors weights, tokenizer files), or a `.gguf` file (see gguf/gguf_model.ts). */
  static async load(dir: string, options: LoadOptions = {}): Promise<Engine> {
    const opts = parseOrThrow(loadOptionsSchema, options, "Engine.load options");
    const root = path.resolve(dir);
    const gguf = isGgufPath(root) ? loadGgufModel(root) : undefined;
    const config = gguf?.config ?? (await loadModelConfig(root));
    const [files, tokenizer, defaults] = gguf
      ? [[root], gguf.tokenizer, { eosTokenIds: [] } as GenerationDefaults]
      : await Promise.all([
          resolveWeightFiles(root),
          WenxinTokenizer.fromDirectory(root),
          loadGenerationDefaults(root),
        ]);
    let chatTemplate: ChatTemplate | undefined = gguf?.chatTemplate;
    if (opts.chatTemplate !== undefined) chatTemplate = new ChatTemplate(opts.chatTemplate, tokenizer);
    else
      try {
        if (!gguf) chatTemplate = await ChatTemplate.fromDirectory(root, tokenizer);
      } catch (err) {
        if (!(err instanceof WenxinError && err.code === "ERR_WENXIN_CHAT_TEMPLATE")) throw err;
      }
    const maxContext = Math.min(opts.maxContext ?? LOAD_DEFAULTS.maxContext, config.hparams.maxPositionEmbeddings);
    const stopTokenIds = Engine.stopIdsFor(config, defaults, tokenizer, chatTemplate);
    const engineRef: { current?: Engine } = {};
    let native: NativeEngine;
    try {
      native = await nativeAddon().loadEngine(config.hparams, files, nativeEngineOptions(opts, maxContext), (events) =>
        engineRef.current?.onNativeEvents(events),
      );
    } catch (err) {
      throw fromNativeError(err);
    }
    const engine = new Engine(native, root, config, tokenizer, chatTemplate, defaults, stopTokenIds, maxContext);
    engineRef.current = engine;
    return engine;
  }

  private static stopIdsFor(
    config: ModelConfig,
    defaults: GenerationDefaults,
    tokenizer: WenxinTokenizer,
    template: ChatTemplate | undefined,
  ): number[] {
    const ids = new Set<number>([...config.eosTokenIds, ...defaults.eosTokenIds]);
    const names = [...CHAT_END_TOKENS, ...(template?.source.includes("<|im_start|>") ? THINKING_END_TOKENS : [])];
    for (const name of names) {
      const id = tokenizer.tokenToId(name);
      if (id !== undefined) ids.add(id);
    }
    return [...ids].filter((id) => id >= 0 && id < config.hparams.vocabSize);
  }

  /** Renders a conversation with the model's chat template (generation prompt on by default). */
  applyChatTemplate(
    messages: ChatMessage[],
    options: { addGenerationPrompt?: boolean; tools?: unknown[] } = {},
  ): string {
    if (!this.chatTemplate)
      throw new WenxinError(
        "ERR_WENXIN_CHAT_TEMPLATE",
        `${this.dir} has no chat template (tokenizer_config.json or chat_template.jinja)`,
      );
    return this.chatTemplate.render(messages, {
      addGenerationPrompt: options.addGenerationPrompt ?? true,
      tools: options.tools,
    });
  }

  /** Logits for every position: a Float32Array of [tokens × vocab]; optionally with a LoRA adapter. */
  async logits(inputIds: ArrayLike<number>, options: { adapter?: string } = {}): Promise<Float32Array> {
    const out = await this.job("logits", [this.toIds(inputIds, "inputIds")], {
      adapter: this.adapterId(options.adapter),
    });
    return out.logits!;
  }

  /**
   * Loads a LoRA adapter under `name`, kept apart from the base weights (unmerged): requests that
   * name it get its deltas, all others do not. Loading a name again replaces that adapter.
   * `adapter` is a PEFT adapter directory (adapter_config.json + adapter_model.safetensors, as peft
   * and `wenxin finetune` save it, fused MoE expert parameters included) or its description.
   */
  async loadAdapter(name: string, adapter: string | LoraAdapterSpec): Promise<void> {
    this.assertOpen();
    const spec: LoraAdapterSpec =
      typeof adapter === "string"
        ? { config: { modules: (await loadLoraAdapter(adapter, this.config)).modules } }
        : adapter;
    const id = this.adapters.get(name) ?? this.nextAdapterId++;
    const modules = spec.config.modules.map((m) => ({
      module: m.module,
      scaling: m.scaling,
      a: {
        file: m.loraA.file,
        offset: m.loraA.byteOffset,
        bytes: m.loraA.byteLength,
        dtype: m.loraA.dtype,
        shape: m.loraA.shape,
      },
      b: {
        file: m.loraB.file,
        offset: m.loraB.byteOffset,
        bytes: m.loraB.byteLength,
        dtype: m.loraB.dtype,
        shape: m.loraB.shape,
      },
      ...(m.experts !== undefined && { experts: m.experts }),
    }));
    await this.job("loadAdapter", [], { adapter: id, modules });
    this.adapters.set(name, id);
  }

  /**
   * A LoRA trainer on this model (see training/lora_trainer.ts): trainable A/B matrices where the
   * LoRA config puts them, exact gradients through the frozen base weights in whatever format they
   * were loaded, AdamW. Its work runs on the engine's thread between generation steps.
   */
  async createTrainer(options: TrainerOptions = {}): Promise<LoraTrainer> {
    this.assertOpen();
    const endOfTurn = [...CHAT_END_TOKENS, ...THINKING_END_TOKENS].find(
      (t) => this.tokenizer.tokenToId(t) !== undefined,
    );
    const eos = [...this.config.eosTokenIds, ...this.generationDefaults.eosTokenIds][0];
    const encoder: ExampleEncoder = {
      encode: (text) => this.tokenizer.encode(text),
      renderPrompt: (messages) => this.applyChatTemplate(messages, { addGenerationPrompt: true }),
      get endOfTurn(): string {
        if (endOfTurn === undefined)
          throw new WenxinError(
            "ERR_WENXIN_CHAT_TEMPLATE",
            "the vocabulary has no end-of-turn token to end a chat completion with",
          );
        return endOfTurn;
      },
      get eosTokenId(): number {
        if (eos === undefined)
          throw new WenxinError(
            "ERR_WENXIN_INVALID_CONFIG",
            "the model names no eos_token_id to end a completion with",
          );
        return eos;
      },
    };
    return LoraTrainer.create(
      { native: this.native, config: this.config, baseModel: path.basename(this.dir), encoder },
      options,
    );
  }

  /** Removes an adapter; requests already running with it finish with it. */
  async unloadAdapter(name: string): Promise<void> {
    const id = this.adapterId(name)!;
    this.adapters.delete(name);
    await this.job("unloadAdapter", [], { adapter: id });
  }

  /** Names of the loaded LoRA adapters. */
  get loadedAdapters(): string[] {
    return [...this.adapters.keys()];
  }

  private adapterId(name: string | undefined): number | undefined {
    if (name === undefined) return undefined;
    const id = this.adapters.get(name);
    if (id === undefined)
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", `no LoRA adapter named '${name}' is loaded`, {
        subject: "adapter",
        expected: [...this.adapters.keys()],
        actual: name,
      });
    return id;
  }

  /** Logits plus every layer's hidden states and the MoE router logits. */
  async inspect(inputIds: ArrayLike<number>): Promise<ForwardInspection> {
    const out = await this.job("trace", [this.toIds(inputIds, "inputIds")]);
    const hiddenStates: Float32Array[] = [];
    const routerLogits = new Map<number, Float32Array>();
    for (const [name, data] of Object.entries(out)) {
      const [kind, index] = name.split(".");
      if (kind === "hidden_states") hiddenStates[Number(index)] = data;
      if (kind === "router_logits") routerLogits.set(Number(index), data);
    }
    return { logits: out.logits!, hiddenStates, routerLogits };
  }

  /**
   * Sentence embeddings: final-norm hidden states, mean-pooled over tokens, L2-normalised. Each
   * input is a text or its token ids (encoded already, e.g. with `tokenizer.encodeAllAsync`). The
   * inputs are scheduled like prompts, beside running generations (which keep streaming); the
   * signal cancels the request at the next engine step.
   */
  async embed(
    texts: readonly (string | ArrayLike<number>)[],
    options: { signal?: AbortSignal } = {},
  ): Promise<Float32Array[]> {
    this.assertOpen();
    if (texts.length === 0) return [];
    const { signal } = options;
    const inputs = texts.map((t, i) => {
      const ids = typeof t === "string" ? this.tokenizer.encode(t) : t;
      if (ids.length === 0) throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", `text ${i} encodes to no tokens`);
      return this.toIds(ids, `texts[${i}]`);
    });
    if (signal?.aborted) throw new WenxinError("ERR_WENXIN_ABORTED", "the signal was aborted before embedding started");
    const id = this.nextId++;
    let work: Promise<Float32Array>;
    try {
      work = this.native.embed(id, inputs);
    } catch (err) {
      throw fromNativeError(err);
    }
    const h = this.config.hparams.hiddenSize;
    const split = (vectors: Float32Array) => texts.map((_, i) => vectors.slice(i * h, (i + 1) * h));
    return new Promise<Float32Array[]>((resolve, reject) => {
      const onAbort = () => {
        this.native.cancel(id);
        reject(new WenxinError("ERR_WENXIN_ABORTED", "embedding was aborted by its signal"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      work
        .then(
          (vectors) => resolve(split(vectors)),
          (err: unknown) => reject(fromNativeError(err)),
        )
        .finally(() => signal?.removeEventListener("abort", onAbort));
    });
  }

  /**
   * Compiles a generation `constraint` on a worker thread, so that a costly one (a client's JSON
   * schema) does not hold the event loop, within `limits` (default `CONSTRAINT_LIMITS`: grammar
   * size and compile time). Pass the same object, unchanged, as generate()'s `constraint` and it
   * is not compiled again; generate() compiles any other constraint itself, on the calling thread, within
   * the default limits. Resolves with the JSON schema keywords that were relaxed (see
   * `ConstraintOutcome.warnings`); rejects with ERR_WENXIN_INVALID_ARGUMENT naming the schema path
   * or grammar rule at fault, a limit overrun included, and with ERR_WENXIN_ABORTED once `signal`
   * aborts (the compile stops there).
   */
  async prepareConstraint(
    constraint: Constraint,
    limits: Partial<ConstraintLimits> = {},
    signal?: AbortSignal,
  ): Promise<string[]> {
    this.assertOpen();
    const parsed = parseOrThrow(constraintSchema, constraint, "constraint");
    const compiled = await compileConstraintOffThread(parsed, { ...CONSTRAINT_LIMITS, ...limits }, signal);
    rememberPrepared(constraint, compiled);
    return compiled.warnings;
  }

  /** Starts a generation; iterate the stream for token events and the final result. */
  generate(options: GenerateOptions): GenerationStream {
    this.assertOpen();
    const { signal, prompt, inputIds, messages, ...rest } = options as GenerateOptions & {
      prompt?: string;
      inputIds?: ArrayLike<number>;
      messages?: ChatMessage[];
      tools?: unknown[];
    };
    const tools = (rest as { tools?: unknown[] }).tools;
    delete (rest as { tools?: unknown[] }).tools;
    const opts = parseOrThrow(generateOptionsSchema, rest, "generate options");
    const promptIds = this.promptIds({ prompt, inputIds, messages, tools });
    if (signal?.aborted)
      throw new WenxinError("ERR_WENXIN_ABORTED", "the signal was aborted before generation started");

    const constraint = opts.constraint
      ? {
          ...(preparedConstraint((rest as { constraint?: unknown }).constraint) ?? compileConstraint(opts.constraint)),
          trigger: opts.constraint.trigger,
          rearm: opts.constraint.rearm,
        }
      : undefined;

    const id = this.nextId++;
    const stop = opts.stop === undefined ? [] : Array.isArray(opts.stop) ? opts.stop : [opts.stop];
    const stream = new GenerationStream(this.tokenizer, stop, promptIds.length, () => this.native.cancel(id), {
      constrained: constraint !== undefined,
      triggered: constraint?.trigger === undefined,
      constraintWarnings: constraint?.warnings,
      setPaused: (paused) => this.native.setPaused(id, paused),
    });
    // An explicit maxNewTokens past the context is refused; the default stops at the context.
    const defaultMax = Math.max(
      1,
      Math.min(this.generationDefaults.maxNewTokens ?? 256, this.maxContext - promptIds.length),
    );
    const params = {
      ...resolveSampling(opts, this.generationDefaults),
      maxNewTokens: opts.maxNewTokens ?? defaultMax,
      ...(opts.logprobs !== undefined && { logprobs: opts.logprobs }),
      adapter: this.adapterId(opts.adapter),
      stopIds: Int32Array.from(new Set([...(opts.ignoreEos ? [] : this.stopTokenIds), ...(opts.stopTokenIds ?? [])])),
      ...(constraint && {
        constraint: {
          rules: constraint.rules,
          sets: constraint.sets,
          ...(constraint.trigger !== undefined && { trigger: new TextEncoder().encode(constraint.trigger) }),
          ...(constraint.rearm === true && { rearm: true }),
        },
      }),
    };
    try {
      if (constraint) this.sendVocabulary();
      this.native.submit(id, promptIds, params);
    } catch (err) {
      throw fromNativeError(err);
    }
    this.streams.set(id, stream);
    if (signal) {
      const onAbort = () => {
        this.native.cancel(id);
        this.streams.delete(id);
        stream.fail(new WenxinError("ERR_WENXIN_ABORTED", "generation was aborted by its signal"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      stream.onEnd(() => signal.removeEventListener("abort", onAbort));
    }
    return stream;
  }

  /**
   * The engine's load right now: waiting and running requests, KV cache blocks (used, cached for
   * prefix reuse, free), prefix-cache hits, tokens computed and generated, step timings, tokens/s.
   */
  stats(): EngineStats {
    this.assertOpen();
    return this.native.stats();
  }

  /** Stops the engine: running generations fail with ERR_WENXIN_ENGINE_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.native.close();
    this.tokenizer.close();
    const closed = new WenxinError("ERR_WENXIN_ENGINE_CLOSED", "the engine was closed");
    for (const s of this.streams.values()) s.fail(closed);
    this.streams.clear();
  }

  /**
   * Gives the native sampler the tokens' byte strings, which constrained generation needs, now
   * rather than on the first constrained request (it is built on the calling thread: tens of
   * milliseconds for a small vocabulary, more for ERNIE's 100k). A server calls it once the model
   * is loaded; doing it again costs nothing.
   */
  prepareVocabulary(): void {
    this.assertOpen();
    this.sendVocabulary();
  }

  /** Gives the native side the tokens' byte strings, once, before the first constrained request. */
  private sendVocabulary(): void {
    if (this.vocabularySent) return;
    const { bytes, offsets, special } = tokenBytes(this.tokenizer);
    this.native.setVocabulary(bytes, offsets, special);
    this.vocabularySent = true;
  }

  private onNativeEvents(events: NativeTokenEvent[]): void {
    for (const ev of events) {
      const stream = this.streams.get(ev.id);
      if (stream && stream.onNativeEvent(ev)) this.streams.delete(ev.id);
    }
  }

  private promptIds(input: {
    prompt?: string;
    inputIds?: ArrayLike<number>;
    messages?: ChatMessage[];
    tools?: unknown[];
  }): Int32Array {
    const given = [input.prompt, input.inputIds, input.messages].filter((v) => v !== undefined).length;
    if (given !== 1)
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "give exactly one of prompt, inputIds or messages");
    if (input.prompt !== undefined) return this.toIds(this.tokenizer.encode(input.prompt), "prompt");
    if (input.messages !== undefined)
      return this.toIds(
        this.tokenizer.encode(this.applyChatTemplate(input.messages, { tools: input.tools })),
        "messages",
      );
    return this.toIds(input.inputIds!, "inputIds");
  }

  /** Validates ids on the JS side too, so the error names the argument. */
  private toIds(ids: ArrayLike<number>, what: string): Int32Array {
    const vocab = this.config.hparams.vocabSize;
    if (ids.length === 0) throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", `${what} is empty`);
    if (ids.length > this.maxContext)
      throw new WenxinError(
        "ERR_WENXIN_CONTEXT_OVERFLOW",
        `${what} has ${ids.length} tokens, more than the context of ${this.maxContext}`,
        { expected: `<= ${this.maxContext}`, actual: ids.length, subject: what },
      );
    const out = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= vocab)
        throw new WenxinError(
          "ERR_WENXIN_TOKEN_OUT_OF_RANGE",
          `${what}[${i}] = ${id} is outside the vocabulary [0, ${vocab})`,
          {
            expected: `0 <= id < ${vocab}`,
            actual: id,
            subject: `${what}[${i}]`,
          },
        );
      out[i] = id;
    }
    return out;
  }

  private async job(
    kind: NativeJobKind,
    inputs: Int32Array[],
    extra?: { adapter?: number; modules?: NativeLoraModule[] },
  ): Promise<Record<string, Float32Array>> {
    this.assertOpen();
    try {
      return await this.native.runJob(kind, inputs, extra);
    } catch (err) {
      throw fromNativeError(err);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new WenxinError("ERR_WENXIN_ENGINE_CLOSED", "the engine is closed");
  }
}
