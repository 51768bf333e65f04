/**
 * The training loop shared by `wenxin finetune` and @wenxin/transformers' Trainer, with
 * transformers' Trainer semantics: epochs over a seeded shuffle (a new order each epoch),
 * optimizer steps of batchSize × gradAccum examples (gradients accumulated over micro-batches of
 * batchSize, equal to the whole batch's), evaluation loss on a held-back set, checkpoints in
 * outputDir/checkpoint-N. A resumed run takes the step, order and AdamW state from its checkpoint
 * and continues the same loss curve. Aborting (the signal) saves a checkpoint and returns.
 */
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";

import { WenxinError } from "../errors.js";
import type { TrainingExample } from "./examples.js";
import type { LoraTrainer } from "./lora_trainer.js";
import { Random, mixSeed } from "./random.js";

export interface TrainLoopOptions {
  epochs: number;
  /** Examples per forward/backward pass. */
  batchSize: number;
  /** Micro-batches per optimizer step. */
  gradAccum?: number;
  /** Seeds the order of examples (each epoch its own). */
  seed?: number;
  evalExamples?: TrainingExample[];
  /** Evaluate every this many steps (default: at the end of each epoch). */
  evalSteps?: number;
  /** Checkpoints go to outputDir/checkpoint-<step>, the final adapter to outputDir. */
  outputDir?: string;
  /** Save a checkpoint every this many steps (default: at the end of each epoch). */
  saveSteps?: number;
  /** Checkpoints kept in outputDir, the newest (transformers' save_total_limit; default 1; 0 keeps none but an interrupted run's). */
  saveTotalLimit?: number;
  /** A checkpoint folder to resume from. */
  resumeFrom?: string;
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainProgress {
  step: number;
  totalSteps: number;
  /** Fractional epoch reached. */
  epoch: number;
  loss: number;
  gradNorm: number;
  learningRate: number;
  /** Tokens per second of this run so far (forward + backward + update). */
  tokensPerSecond: number;
  elapsedSeconds: number;
  etaSeconds: number;
  evalLoss?: number;
}

export interface LogEntry {
  step: number;
  epoch: number;
  loss: number;
  grad_norm: number;
  learning_rate: number;
  eval_loss?: number;
}

export interface TrainResult {
  steps: number;
  totalSteps: number;
  interrupted: boolean;
  /** transformers' log_history: one entry per step (and its eval loss when evaluated). */
  history: LogEntry[];
  /** The last checkpoint written, if any. */
  checkpoint?: string;
}

/** Optimizer steps per epoch: every example once, the last step taking the remainder. */
export function stepsPerEpoch(examples: number, batchSize: number, gradAccum = 1): number {
  return Math.ceil(examples / (batchSize * gradAccum));
}

/** outputDir's checkpoint-N folders, oldest first. */
async function checkpoints(outputDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(outputDir);
  } catch {
    return [];
  }
  return names
    .map((n) => /^checkpoint-(\d+)$/.exec(n))
    .filter((m) => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => path.join(outputDir, m[0]));
}

/** The newest outputDir/checkpoint-N, if any. */
export async function latestCheckpoint(outputDir: string): Promise<string | undefined> {
  return (await checkpoints(outputDir)).at(-1);
}

export async function trainLoop(
  trainer: LoraTrainer,
  data: TrainingExample[],
  o: TrainLoopOptions,
): Promise<TrainResult> {
  if (data.length === 0)
    throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "no training examples", { subject: "data" });
  const accum = o.gradAccum ?? 1;
  const perStep = o.batchSize * accum;
  const perEpoch = stepsPerEpoch(data.length, o.batchSize, accum);
  const totalSteps = perEpoch * o.epochs;
  const seed = o.seed ?? 0;
  trainer.setTotalSteps(totalSteps);
  let history: LogEntry[] = [];
  if (o.resumeFrom) {
    const state = await trainer.loadCheckpoint(o.resumeFrom);
    if (Array.isArray(state.log_history)) history = state.log_history as LogEntry[];
  }
  const keep = o.saveTotalLimit ?? 1;
  const checkpoint = async (interrupted = false): Promise<string | undefined> => {
    if (!o.outputDir || (keep === 0 && !interrupted)) return undefined;
    const dir = path.join(o.outputDir, `checkpoint-${trainer.globalStep}`);
    await trainer.saveCheckpoint(dir, { log_history: history, total_steps: totalSteps, seed });
    const all = await checkpoints(o.outputDir);
    for (const old of all.slice(0, Math.max(0, all.length - Math.max(1, keep))))
      if (old !== dir) await rm(old, { recursive: true, force: true });
    return dir;
  };
  const evaluate = async (): Promise<number | undefined> => {
    if (!o.evalExamples?.length) return undefined;
    let sum = 0,
      labels = 0;
    for (let i = 0; i < o.evalExamples.length; i += o.batchSize) {
      const r = await trainer.evaluate(o.evalExamples.slice(i, i + o.batchSize));
      sum += r.loss * r.labels;
      labels += r.labels;
    }
    return sum / labels;
  };

  let orderEpoch = -1;
  let order: number[] = [];
  let lastCheckpoint: string | undefined;
  let tokens = 0;
  const start = performance.now();
  const firstStep = trainer.globalStep;
  while (trainer.globalStep < totalSteps) {
    if (o.signal?.aborted) {
      lastCheckpoint = await checkpoint(true);
      return { steps: trainer.globalStep, totalSteps, interrupted: true, history, checkpoint: lastCheckpoint };
    }
    const step = trainer.globalStep;
    const epoch = Math.floor(step / perEpoch);
    if (epoch !== orderEpoch) {
      order = new Random(mixSeed(seed, epoch)).permutation(data.length);
      orderEpoch = epoch;
    }
    const within = step % perEpoch;
    const batch = order.slice(within * perStep, (within + 1) * perStep).map((i) => data[i]!);
    const r = await trainer.step(batch, { microBatchSize: o.batchSize });
    tokens += r.tokens;
    const entry: LogEntry = {
      step: r.step,
      epoch: r.step / perEpoch,
      loss: r.loss,
      grad_norm: r.gradNorm,
      learning_rate: r.learningRate,
    };
    const epochEnd = r.step % perEpoch === 0;
    if (o.evalSteps ? r.step % o.evalSteps === 0 : epochEnd) entry.eval_loss = await evaluate();
    history.push(entry);
    if (o.saveSteps ? r.step % o.saveSteps === 0 : epochEnd) lastCheckpoint = await checkpoint();
    const elapsed = (performance.now() - start) / 1000;
    o.onProgress?.({
      step: r.step,
      totalSteps,
      epoch: entry.epoch,
      loss: r.loss,
      gradNorm: r.gradNorm,
      learningRate: r.learningRate,
      tokensPerSecond: tokens / elapsed,
      elapsedSeconds: elapsed,
      etaSeconds: (elapsed / (r.step - firstStep)) * (totalSteps - r.step),
      ...(entry.eval_loss !== undefined && { evalLoss: entry.eval_loss }),
    });
  }
  if (o.outputDir) await trainer.saveAdapter(o.outputDir);
  return { steps: trainer.globalStep, totalSteps, interrupted: false, history, checkpoint: lastCheckpoint };
}
