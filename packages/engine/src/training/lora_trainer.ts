/**
 * LoRA fine-tuning on a loaded engine: `engine.createTrainer({ lora, optimizer })`, then
 * `step(batch)` (forward, backward, clipping, AdamW) and `saveAdapter(dir)` in PEFT's format.
 * The math runs natively on the engine's own thread, between generation steps (native/src/train/);
 * this class resolves the LoRA config, encodes batches, splits them into micro-batches whose
 * gradients add up to the whole batch's, and keeps the schedule and checkpoints.
 */
import path from "node:path";

import { ADAPTER_WEIGHTS_FILE, loadLoraAdapter } from "../adapters/peft_adapter.js";
import type { LoraConfig } from "../adapters/lora_config.js";
import { WenxinError, fromNativeError } from "../errors.js";
import { parseOrThrow } from "../generation/options.js";
import type { ModelConfig } from "../model/config.js";
import { readTensorF32 } from "../model/safetensors_file.js";
import type { NativeBatchLoss, NativeEngine, NativeTrainer } from "../native/addon_types.js";
import {
  OPTIMIZER_FILE,
  peftTensorName,
  readAdapterWeights,
  readTrainerState,
  writeAdapterWeights,
  writePeftAdapter,
  writeTrainerState,
} from "./adapter_files.js";
import {
  encodeExample,
  trainingRowSchema,
  type EncodedExample,
  unpadBatch,
  type ExampleEncoder,
  type PaddedBatch,
  type TrainingExample,
  type TrainingRow,
} from "./examples.js";
import { initialWeights } from "./lora_init.js";
import {
  convertForFusedExperts,
  loraConfigFromOptions,
  loraTargets,
  peftAdapterConfig,
  type LoraTarget,
} from "./lora_targets.js";
import {
  optimizerOptionsSchema,
  trainerOptionsSchema,
  type OptimizerOptions,
  type ResolvedTrainerOptions,
  type TrainerOptions,
} from "./options.js";
import { Random, mixSeed } from "./random.js";
import { learningRate } from "./schedule.js";

/** What a step, micro-batch or evaluation takes: examples (encoded or dataset rows) or a padded batch. */
export type TrainingBatch = (TrainingExample | TrainingRow)[] | PaddedBatch;

export interface StepResult {
  /** transformers' loss: mean cross-entropy over the batch's labelled tokens. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** The rate this step used. */
  learningRate: number;
  /** Optimizer steps taken so far (this one included). */
  step: number;
  tokens: number;
  labels: number;
}

export interface EvaluationResult {
  loss: number;
  /** Each example's own mean loss (NaN for one without labels). */
  perExample: number[];
  tokens: number;
  labels: number;
}

/** What the trainer needs of its engine (given by Engine.createTrainer). */
export interface TrainerHost {
  native: NativeEngine;
  config: ModelConfig;
  /** The model directory's name, recorded as base_model_name_or_path. */
  baseModel: string;
  encoder: ExampleEncoder;
}

interface Packed {
  tokens: Int32Array;
  labels: Int32Array;
  lengths: Int32Array;
  /** Tokens whose label takes a loss (a sequence's first label never does: logits[t] predict labels[t + 1]). */
  labelled: number;
}

export class LoraTrainer {
  private stepCount = 0;
  private totalSteps: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly native: NativeTrainer,
    private readonly host: TrainerHost,
    private opts: ResolvedTrainerOptions,
    /** PEFT's config of the adapter being trained (what adapter_config.json records). */
    readonly loraConfig: LoraConfig,
    /** Every trainable A/B pair, in layer order. */
    readonly targets: readonly LoraTarget[],
    private readonly dropout: number,
    private readonly initMode: boolean | string,
  ) {}

  /** Use engine.createTrainer(options). */
  static async create(host: TrainerHost, options: TrainerOptions = {}): Promise<LoraTrainer> {
    const opts = parseOrThrow(trainerOptionsSchema, options, "createTrainer options");
    const hp = host.config.hparams;
    let config: LoraConfig;
    let weights: { a: Float32Array; b: Float32Array }[];
    let targets: LoraTarget[];
    let dropout = opts.lora.dropout;
    let initMode: boolean | string = opts.lora.init === "gaussian" ? "gaussian" : true;
    if (opts.lora.from !== undefined) {
      const given = Object.keys(options.lora ?? {}).filter((k) => k !== "from" && k !== "dropout");
      if (given.length > 0)
        throw new WenxinError(
          "ERR_WENXIN_INVALID_ARGUMENT",
          `lora.from takes the adapter's own config; leave out ${given.map((k) => `lora.${k}`).join(", ")}`,
          { subject: "lora.from" },
        );
      const adapter = await loadLoraAdapter(opts.lora.from, host.config);
      config = adapter.config;
      targets = loraTargets(config, hp);
      weights = await Promise.all(
        targets.map(async (t) => {
          const spec = adapter.modules.find((m) => m.module === t.name)!;
          const info = (ref: typeof spec.loraA) => ({
            ...ref,
            begin: ref.byteOffset,
            end: ref.byteOffset + ref.byteLength,
          });
          return {
            a: await readTensorF32(spec.loraA.file, info(spec.loraA)),
            b: await readTensorF32(spec.loraB.file, info(spec.loraB)),
          };
        }),
      );
      if (options.lora?.dropout === undefined) {
        const saved = (adapter.config as unknown as { lora_dropout?: unknown }).lora_dropout;
        dropout = typeof saved === "number" ? saved : 0;
      }
      initMode = false;
    } else {
      config = convertForFusedExperts(loraConfigFromOptions(opts.lora, host.baseModel), hp);
      targets = loraTargets(config, hp);
      const random = new Random(mixSeed(opts.seed, 0x1a17));
      weights = targets.map((t) => initialWeights(t, opts.lora.init, random));
    }
    let native: NativeTrainer;
    try {
      native = host.native.createTrainer({
        params: targets.map((t, i) => ({
          name: t.name,
          rank: t.rank,
          scaling: t.scaling,
          dropout,
          a: weights[i]!.a,
          b: weights[i]!.b,
        })),
        checkpointing: opts.checkpointing,
        activationBudgetBytes: opts.activationMemoryBytes,
        computeBf16: opts.computeDtype === "bf16",
      });
    } catch (err) {
      throw fromNativeError(err);
    }
    return new LoraTrainer(
      native,
      host,
      opts,
      { ...config, base_model_name_or_path: host.baseModel },
      targets,
      dropout,
      initMode,
    );
  }

  get options(): ResolvedTrainerOptions {
    return this.opts;
  }

  /** Replaces the optimizer settings (learning rate, schedule, betas, …) for the steps to come. */
  configureOptimizer(optimizer: OptimizerOptions): void {
    this.opts = { ...this.opts, optimizer: parseOrThrow(optimizerOptionsSchema, optimizer, "optimizer options") };
  }

  /**
   * The run's length in optimizer steps, which decaying schedules need, unless the optimizer options
   * named one (trainLoop sets it from the data).
   */
  setTotalSteps(steps: number): void {
    if (this.options.optimizer.totalSteps === undefined) this.totalSteps = steps;
  }

  /** Optimizer steps taken (transformers' global_step). */
  get globalStep(): number {
    return this.stepCount;
  }

  /** Trainable values (A and B of every target). */
  get parameterCount(): number {
    return this.targets.reduce((n, t) => n + t.experts * t.rank * (t.inFeatures + t.outFeatures), 0);
  }

  /** Encodes one dataset row (see examples.ts); undefined when it has nothing to learn within maxLength. */
  encode(row: TrainingRow, maxLength?: number): EncodedExample | undefined {
    const parsed = parseOrThrow(trainingRowSchema, row, "training row");
    return encodeExample(parsed, this.host.encoder, maxLength);
  }

  /**
   * One optimizer step on `batch`: forward and backward (in micro-batches of `microBatchSize`, whose
   * gradients sum to the whole batch's: gradient accumulation), clipping, AdamW at the scheduled rate.
   */
  step(batch: TrainingBatch, options: { microBatchSize?: number } = {}): Promise<StepResult> {
    return this.serial(async () => {
      const loss = await this.gradientsOf(batch, options.microBatchSize);
      const applied = await this.applyLocked();
      return { ...loss, ...applied };
    });
  }

  /** Forward and backward only: the gradients of `batch` replace the previous ones (see gradients()). */
  computeGradients(
    batch: TrainingBatch,
    options: { microBatchSize?: number } = {},
  ): Promise<{ loss: number; tokens: number; labels: number }> {
    return this.serial(() => this.gradientsOf(batch, options.microBatchSize));
  }

  /** Clips and applies the gradients computed last, at the scheduled learning rate. */
  applyGradients(): Promise<{ gradNorm: number; learningRate: number; step: number }> {
    return this.serial(() => this.applyLocked());
  }

  /** The loss of `batch` with the current weights (no dropout, no gradients). */
  evaluate(batch: TrainingBatch): Promise<EvaluationResult> {
    return this.serial(async () => {
      const packs = this.pack(batch);
      const perExample: number[] = [];
      let sum = 0,
        labels = 0,
        tokens = 0;
      for (const p of packs) {
        const r = await this.call(() => this.native.evaluate(p.tokens, p.labels, p.lengths));
        sum += r.loss_sum[0]!;
        labels += r.labels[0]!;
        tokens += p.tokens.length;
        r.seq_loss.forEach((l, i) => perExample.push(r.seq_labels[i]! > 0 ? l / r.seq_labels[i]! : NaN));
      }
      return { loss: labels > 0 ? sum / labels : NaN, perExample, tokens, labels };
    });
  }

  /** The gradients computed last, by the tensor names peft saves the adapter under. */
  gradients(): Promise<Map<string, Float32Array>> {
    return this.serial(() => this.tensors("grads"));
  }

  /** The current A and B matrices, by peft's tensor names. */
  parameters(): Promise<Map<string, Float32Array>> {
    return this.serial(() => this.tensors("params"));
  }

  /** Writes the adapter in PEFT's format: adapter_config.json + adapter_model.safetensors. */
  saveAdapter(dir: string): Promise<void> {
    return this.serial(async () => {
      const params = await this.call(() => this.native.state("params"));
      await writePeftAdapter(
        dir,
        this.targets,
        params,
        peftAdapterConfig(this.loraConfig, this.dropout, this.initMode),
      );
    });
  }

  /**
   * The adapter, the AdamW moments and `state` (the training loop's position, history) in `dir`,
   * from which loadCheckpoint resumes exactly.
   */
  saveCheckpoint(dir: string, state: Record<string, unknown> = {}): Promise<void> {
    return this.serial(async () => {
      const [params, m, v] = await Promise.all([
        this.call(() => this.native.state("params")),
        this.call(() => this.native.state("exp_avg")),
        this.call(() => this.native.state("exp_avg_sq")),
      ]);
      await writePeftAdapter(
        dir,
        this.targets,
        params,
        peftAdapterConfig(this.loraConfig, this.dropout, this.initMode),
      );
      await writeAdapterWeights(path.join(dir, OPTIMIZER_FILE), this.targets, [
        { tensors: m, suffix: ".exp_avg" },
        { tensors: v, suffix: ".exp_avg_sq" },
      ]);
      await writeTrainerState(dir, { ...state, global_step: this.stepCount });
    });
  }

  /** Restores weights, moments and step count from saveCheckpoint's folder; returns its state. */
  loadCheckpoint(dir: string): Promise<Record<string, unknown>> {
    return this.serial(async () => {
      const state = await readTrainerState(dir);
      const step = state.global_step;
      if (typeof step !== "number" || !Number.isInteger(step) || step < 0)
        throw new WenxinError("ERR_WENXIN_INVALID_FILE", `${dir}/trainer_state.json has no valid global_step`, {
          subject: "global_step",
        });
      const params = await readAdapterWeights(path.join(dir, ADAPTER_WEIGHTS_FILE), this.targets);
      const m = await readAdapterWeights(path.join(dir, OPTIMIZER_FILE), this.targets, ".exp_avg");
      const v = await readAdapterWeights(path.join(dir, OPTIMIZER_FILE), this.targets, ".exp_avg_sq");
      await this.call(() => this.native.setState("params", params));
      await this.call(() => this.native.setState("exp_avg", m));
      await this.call(() => this.native.setState("exp_avg_sq", v, step));
      this.stepCount = step;
      return state;
    });
  }

  // ---- internals ----

  /** Runs `fn` after every earlier call: steps never interleave on the native side. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw fromNativeError(err);
    }
  }

  private async tensors(kind: "params" | "grads"): Promise<Map<string, Float32Array>> {
    const state = await this.call(() => this.native.state(kind));
    const out = new Map<string, Float32Array>();
    for (const t of this.targets)
      for (const which of ["lora_A", "lora_B"] as const)
        out.set(peftTensorName(t, which), state[`${t.name}.${which}`]!);
    return out;
  }

  private async gradientsOf(
    batch: TrainingBatch,
    microBatchSize?: number,
  ): Promise<{ loss: number; tokens: number; labels: number }> {
    const packs = this.pack(batch, microBatchSize);
    const total = packs.reduce((n, p) => n + p.labelled, 0);
    if (total === 0)
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "the batch has no labelled token to learn from", {
        subject: "batch",
      });
    await this.call(() => this.native.zeroGrad());
    let sum = 0,
      tokens = 0;
    for (const [i, p] of packs.entries()) {
      const seed = mixSeed(mixSeed(this.options.seed, this.stepCount), i);
      const r: NativeBatchLoss = await this.call(() =>
        this.native.accumulate(p.tokens, p.labels, p.lengths, 1 / total, seed),
      );
      sum += r.loss_sum[0]!;
      tokens += p.tokens.length;
    }
    return { loss: sum / total, tokens, labels: total };
  }

  private async applyLocked(): Promise<{ gradNorm: number; learningRate: number; step: number }> {
    const o = this.options.optimizer;
    const lr = learningRate({ ...o, totalSteps: o.totalSteps ?? this.totalSteps }, this.stepCount);
    const r = await this.call(() =>
      this.native.apply({
        lr,
        beta1: o.betas[0],
        beta2: o.betas[1],
        eps: o.eps,
        weightDecay: o.weightDecay,
        maxGradNorm: o.maxGradNorm,
      }),
    );
    this.stepCount = r.step[0]!;
    return { gradNorm: r.grad_norm[0]!, learningRate: lr, step: this.stepCount };
  }

  /** The batch as native micro-batches: sequences back to back, validated against the vocabulary. */
  private pack(batch: TrainingBatch, microBatchSize?: number): Packed[] {
    const examples = Array.isArray(batch) ? batch : unpadBatch(batch);
    if (examples.length === 0)
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "the batch is empty", { subject: "batch" });
    const vocab = this.host.config.hparams.vocabSize;
    const encoded = examples.map((e, i) => {
      const ex = "inputIds" in e ? (e as TrainingExample) : this.encode(e as TrainingRow);
      if (!ex)
        throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", `batch[${i}] has nothing to learn`, {
          subject: `batch[${i}]`,
        });
      const ids = Array.from(ex.inputIds);
      const labels = ex.labels ? Array.from(ex.labels) : ids;
      if (ids.length === 0 || labels.length !== ids.length)
        throw new WenxinError(
          "ERR_WENXIN_INVALID_ARGUMENT",
          `batch[${i}] has ${ids.length} tokens and ${labels.length} labels`,
          { subject: `batch[${i}]` },
        );
      for (const [j, id] of ids.entries())
        if (!Number.isInteger(id) || id < 0 || id >= vocab)
          throw new WenxinError(
            "ERR_WENXIN_TOKEN_OUT_OF_RANGE",
            `batch[${i}].inputIds[${j}] = ${id} is outside the vocabulary [0, ${vocab})`,
            {
              subject: `batch[${i}].inputIds[${j}]`,
            },
          );
      return { ids, labels };
    });
    const size = microBatchSize ?? this.options.microBatchSize ?? encoded.length;
    const packs: Packed[] = [];
    for (let s = 0; s < encoded.length; s += size) {
      const part = encoded.slice(s, s + size);
      packs.push({
        tokens: Int32Array.from(part.flatMap((e) => e.ids)),
        labels: Int32Array.from(part.flatMap((e) => e.labels)),
        lengths: Int32Array.from(part.map((e) => e.ids.length)),
        labelled: part.reduce((n, e) => n + e.labels.slice(1).filter((l) => l !== -100).length, 0),
      });
    }
    return packs;
  }
}
