/**
 * The one declaration of the native addon's surface (native/src/addon/). Nothing but
 * binding.ts loads the addon, and nothing but this package's engine calls it.
 */

/** Hyper-parameters in the shape native/src/addon/convert.cpp reads them. */
export interface NativeHparams {
  modelType: "ernie4_5" | "ernie4_5_moe";
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  ropeTheta: number;
  rmsNormEps: number;
  useBias: boolean;
  tieWordEmbeddings: boolean;
  moeNumExperts: number;
  moeK: number;
  moeIntermediateSize: number;
  moeNumSharedExperts: number;
  moeLayerStartIndex: number;
  moeLayerEndIndex: number;
  moeLayerInterval: number;
  moeNormMin: number;
}

export interface NativeEngineOptions {
  threads: number;
  maxContext: number;
  kvCacheTokens: number;
  kvCacheBytes: number;
  maxSequences: number;
  maxBatchTokens: number;
  /** Tokens over all inputs of one embedding request. */
  maxEmbeddingTokens: number;
  kvCache: "f32" | "bf16" | "int8";
  prefixCaching: boolean;
  weights: "bf16" | "q8" | "q4" | "fp8";
}

export interface NativeSamplingParams {
  greedy: boolean;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  seed: number;
}

/** A compiled output constraint (see generation/grammar/byte_grammar.ts). */
export interface NativeConstraint {
  rules: Int32Array;
  sets: Uint32Array;
  /** UTF-8 of the trigger text; absent: the constraint applies from the first token. */
  trigger?: Uint8Array;
  /** With a trigger: after each complete value, wait for the trigger again instead of ending. */
  rearm?: boolean;
}

export interface NativeGenerateParams extends NativeSamplingParams {
  maxNewTokens: number;
  stopIds: Int32Array;
  /** LoRA adapter id from loadAdapter; absent for the base model. */
  adapter?: number;
  constraint?: NativeConstraint;
  /** Per-token log-probabilities with this many alternatives (0..20); absent: none. */
  logprobs?: number;
}

export interface NativeLoraTensor {
  file: string;
  offset: number;
  bytes: number;
  dtype: string;
  shape: number[];
}

export interface NativeLoraModule {
  module: string;
  scaling: number;
  a: NativeLoraTensor;
  b: NativeLoraTensor;
  /** A fused routed-expert parameter of this many experts (A [experts·rank, in], B [out, experts·rank]). */
  experts?: number;
}

/** Constraint progress on an event of a constrained request. */
export interface NativeConstraintEvent {
  phase: "waiting" | "active" | "complete";
  /** The constrained output so far is a complete value. */
  accepting: boolean;
  /** Constrained output bytes added by this event. */
  bytes: Uint8Array;
}

/** A generated token's log-probability under the raw logits, with the most likely alternatives. */
export interface NativeTokenLogprob {
  tokenId: number;
  logprob: number;
  top: { tokenId: number; logprob: number }[];
}

/** The engine's load, read at any time (see native/include/wenxin/engine_stats.h). */
export interface NativeEngineStats {
  waiting: number;
  running: number;
  /** Requests paused because their streams are not read: they hold no slot and no KV blocks. */
  paused: number;
  kvBlocksTotal: number;
  kvBlocksUsed: number;
  kvBlocksCached: number;
  kvBlocksFree: number;
  kvBlockTokens: number;
  kvBytesPerToken: number;
  kvCache: "f32" | "bf16" | "int8";
  prefixCacheHitTokens: number;
  promptTokens: number;
  generatedTokens: number;
  steps: number;
  preemptions: number;
  lastStepMs: number;
  meanStepMs: number;
  tokensPerSecond: number;
  /** Constrained requests submitted, tokens they masked, and the engine's time masking and matching. */
  constrainedRequests: number;
  constrainedTokens: number;
  constraintMaskMs: number;
  constraintAdvanceMs: number;
  /**
   * Steps that computed only background work (requests once paused because their streams were not
   * read), their time, and the time the engine rested after them: at least as long, unless other
   * work arrived, so that such work takes at most half of the engine's time.
   */
  backgroundSteps: number;
  backgroundStepMs: number;
  backgroundRestMs: number;
}

/** Per-request news from one engine step; the last event of a request has `done`. */
export interface NativeTokenEvent {
  id: number;
  tokens: Int32Array;
  done: boolean;
  finishReason: "" | "stop" | "length" | "cancelled" | "error";
  promptTokens: number;
  completionTokens: number;
  error?: Error & { code?: string };
  constraint?: NativeConstraintEvent;
  logprobs?: NativeTokenLogprob[];
}

/** A trainable LoRA pair in PEFT's layout (A [experts·rank, in], B [out, experts·rank]). */
export interface NativeLoraParam {
  /** Module path, or a fused expert parameter's key ("model.layers.1.mlp.experts.gate_up_proj"). */
  name: string;
  rank: number;
  scaling: number;
  dropout: number;
  a: Float32Array;
  b: Float32Array;
}

/** Summed cross-entropy of a batch: in total and per sequence, with the labelled tokens counted. */
export interface NativeBatchLoss {
  loss_sum: Float32Array;
  labels: Float32Array;
  seq_loss: Float32Array;
  seq_labels: Float32Array;
}

export type NativeTrainerTensors = "params" | "grads" | "exp_avg" | "exp_avg_sq";

/**
 * A LoRA trainer over an engine's model (native/src/train/). Every method runs on the engine's
 * thread between generation steps. Batches are sequences back to back: tokens, HF-style labels
 * (−100: no loss) and the lengths.
 */
export interface NativeTrainer {
  /** Forward + backward: gradients += scale · ∂(Σ cross-entropy)/∂θ; LoRA dropout from `seed`. */
  accumulate(
    tokens: Int32Array,
    labels: Int32Array,
    lengths: Int32Array,
    scale: number,
    seed: number,
  ): Promise<NativeBatchLoss>;
  evaluate(tokens: Int32Array, labels: Int32Array, lengths: Int32Array): Promise<NativeBatchLoss>;
  /** Clip (maxGradNorm > 0) and one AdamW step; the norm is the one before clipping. */
  apply(options: {
    lr: number;
    beta1: number;
    beta2: number;
    eps: number;
    weightDecay: number;
    maxGradNorm: number;
  }): Promise<{ grad_norm: Float32Array; step: Float32Array }>;
  zeroGrad(): Promise<Record<string, Float32Array>>;
  /** "<name>.lora_A" / "<name>.lora_B" of every parameter, and "step". */
  state(kind: NativeTrainerTensors): Promise<Record<string, Float32Array>>;
  setState(
    kind: Exclude<NativeTrainerTensors, "grads">,
    tensors: Record<string, Float32Array>,
    step?: number,
  ): Promise<unknown>;
}

export type NativeJobKind = "logits" | "trace" | "loadAdapter" | "unloadAdapter";

export interface NativeEngine {
  /** Queues a request; throws (with `.code`) when the request is refused. */
  submit(id: number, promptIds: Int32Array, params: NativeGenerateParams): void;
  /**
   * Embeddings of whole inputs ([inputs × hidden], mean-pooled final-norm hidden states,
   * L2-normalised), scheduled like prompts beside generation. `id` shares the space of submit()'s
   * ids, so cancel(id) ends it (the promise then rejects with ABORTED).
   */
  embed(id: number, inputs: Int32Array[], params?: { adapter?: number }): Promise<Float32Array>;
  /** Ends a generation or embedding request at the next step. */
  cancel(id: number): void;
  /** A paused request leaves the running set and frees its KV blocks until resumed (then recomputed, mostly from the prefix cache). */
  setPaused(id: number, paused: boolean): void;
  stats(): NativeEngineStats;
  /** logits: { logits }; trace: { logits, "hidden_states.<i>", "router_logits.<l>" }. */
  runJob(
    kind: NativeJobKind,
    inputs: Int32Array[],
    extra?: { adapter?: number; modules?: NativeLoraModule[] },
  ): Promise<Record<string, Float32Array>>;
  close(): void;
  /**
   * The byte strings of the tokenizer's tokens (token i: bytes[offsets[i] .. offsets[i + 1])) that
   * constraints are matched against; `special[i]` marks tokens that never match grammar text.
   */
  setVocabulary(bytes: Uint8Array, offsets: Int32Array, special: Uint8Array): void;
  /** A LoRA trainer over this engine's model; throws (with `.code`) when a parameter does not fit. */
  createTrainer(options: {
    params: NativeLoraParam[];
    checkpointing: boolean;
    activationBudgetBytes: number;
    /** Products through the frozen weights in bf16 (TrainerOptions::compute_bf16). */
    computeBf16?: boolean;
  }): NativeTrainer;
}

export interface NativeAddon {
  loadEngine(
    hparams: NativeHparams,
    files: string[],
    options: NativeEngineOptions,
    onEvents: (events: NativeTokenEvent[]) => void,
  ): Promise<NativeEngine>;
  applyLogitsProcessors(logits: Float32Array, history: Int32Array, params: NativeSamplingParams): Float32Array;
  measureReadBandwidth(megabytes: number, threads: number): number;
  kernelInfo(): { active: string; supported: string[] };
  saveQuantized(
    hparams: NativeHparams,
    files: string[],
    options: { weights: "q8" | "q4" | "fp8"; tiles?: boolean },
    outFile: string,
    threads: number,
  ): Promise<void>;
  /**
   * Test-only fault injection (native/include/wenxin/testing.h): the next pass of an engine site
   * throws, for the request id ("sampling", "constraint") or adapter id ("adapterLoad") given.
   */
  testing: {
    injectFault(site: "sampling" | "constraint" | "adapterLoad", key: number): void;
    clearFaults(): void;
  };
  /** Runs a compiled grammar over `input`: how many bytes form a valid prefix, and the state after them. */
  grammarMatch(
    rules: Int32Array,
    sets: Uint32Array,
    input: Uint8Array,
  ): { consumed: number; accepting: boolean; canContinue: boolean; minCompletion: number };
}
