/**
 * transformers' Trainer for a LoRA model from get_peft_model: `new Trainer({ model, args, train_dataset,
 * eval_dataset }).train()`. Datasets are arrays of rows as TRL's SFTTrainer takes them ({messages},
 * {prompt, completion} or {text}) or of tokenized examples ({input_ids, labels?}); the loop is the
 * engine's (trainLoop), so `wenxin finetune` and this Trainer train the same way.
 */
import {
  WenxinError,
  latestCheckpoint,
  stepsPerEpoch,
  trainLoop,
  type LogEntry,
  type TrainingExample,
  type TrainingRow,
} from "@wenxin/engine";

import type { PeftModelForCausalLM } from "../peft/peft_training.js";
import type { TrainingArguments } from "./training_args.js";

export type DatasetRow = TrainingRow | { input_ids: number[]; labels?: number[] };

export interface TrainerInit {
  model: PeftModelForCausalLM;
  args: TrainingArguments;
  train_dataset?: DatasetRow[];
  eval_dataset?: DatasetRow[];
}

export interface TrainOutput {
  global_step: number;
  /** Mean training loss over the run's steps. */
  training_loss: number;
  metrics: { train_runtime: number; train_tokens_per_second: number; epoch: number };
}

export class Trainer {
  readonly model: PeftModelForCausalLM;
  readonly args: TrainingArguments;
  readonly train_dataset: DatasetRow[] | undefined;
  readonly eval_dataset: DatasetRow[] | undefined;
  /** transformers' TrainerState: the step reached and one log entry per step. */
  readonly state: { global_step: number; log_history: LogEntry[] } = { global_step: 0, log_history: [] };

  constructor(init: TrainerInit) {
    this.model = init.model;
    this.args = init.args;
    this.train_dataset = init.train_dataset;
    this.eval_dataset = init.eval_dataset;
  }

  private encode(rows: DatasetRow[], what: string): TrainingExample[] {
    const out: TrainingExample[] = [];
    rows.forEach((row, i) => {
      if ("input_ids" in row) {
        const { input_ids, labels } = row as { input_ids: number[]; labels?: number[] };
        out.push(labels ? { inputIds: input_ids, labels } : { inputIds: input_ids });
        return;
      }
      try {
        const e = this.model.trainer.encode(row as TrainingRow, this.args.max_length);
        if (e) out.push(e);
      } catch (err) {
        throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", `${what}[${i}]: ${(err as Error).message}`, {
          subject: `${what}[${i}]`,
        });
      }
    });
    return out;
  }

  /** Trains for args.num_train_epochs; `resume_from_checkpoint` (true: the newest in output_dir) continues a run. */
  async train(options: { resume_from_checkpoint?: string | boolean } = {}): Promise<TrainOutput> {
    if (!this.train_dataset?.length)
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "Trainer.train() needs a train_dataset", {
        subject: "train_dataset",
      });
    const a = this.args;
    const data = this.encode(this.train_dataset, "train_dataset");
    const evalExamples =
      this.eval_dataset && a.eval_strategy !== "no" ? this.encode(this.eval_dataset, "eval_dataset") : undefined;
    const total =
      stepsPerEpoch(data.length, a.per_device_train_batch_size, a.gradient_accumulation_steps) * a.num_train_epochs;
    const warmup = a.warmup_steps || Math.ceil(a.warmup_ratio * total);
    this.model.trainer.configureOptimizer({
      lr: a.learning_rate,
      betas: [a.adam_beta1, a.adam_beta2],
      eps: a.adam_epsilon,
      weightDecay: a.weight_decay,
      maxGradNorm: a.max_grad_norm,
      schedule: a.lr_scheduler_type === "constant_with_warmup" ? "constant" : a.lr_scheduler_type,
      warmupSteps: a.lr_scheduler_type === "constant" ? 0 : warmup,
      totalSteps: total,
    });
    const resumeFrom =
      options.resume_from_checkpoint === true
        ? await latestCheckpoint(a.output_dir)
        : options.resume_from_checkpoint || undefined;
    if (options.resume_from_checkpoint === true && !resumeFrom)
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", `no checkpoint-N folder in ${a.output_dir} to resume from`, {
        subject: "resume_from_checkpoint",
      });
    const started = performance.now();
    let tokens = 0;
    const result = await trainLoop(this.model.trainer, data, {
      epochs: a.num_train_epochs,
      batchSize: a.per_device_train_batch_size,
      gradAccum: a.gradient_accumulation_steps,
      seed: a.seed,
      evalExamples,
      evalSteps: a.eval_strategy === "steps" ? (a.eval_steps ?? a.logging_steps) : undefined,
      outputDir: a.output_dir,
      saveSteps: a.save_strategy === "steps" ? a.save_steps : undefined,
      saveTotalLimit: a.save_strategy === "no" ? 0 : a.save_total_limit,
      resumeFrom,
      onProgress: (p) => {
        tokens = p.tokensPerSecond * p.elapsedSeconds;
        if (p.step % a.logging_steps === 0 || p.evalLoss !== undefined)
          console.log(
            JSON.stringify({
              step: p.step,
              epoch: +p.epoch.toFixed(2),
              loss: p.loss,
              learning_rate: p.learningRate,
              grad_norm: p.gradNorm,
              ...(p.evalLoss !== undefined && { eval_loss: p.evalLoss }),
            }),
          );
      },
    });
    this.state.global_step = result.steps;
    this.state.log_history = result.history;
    const runtime = (performance.now() - started) / 1000;
    const losses = result.history.map((h) => h.loss);
    return {
      global_step: result.steps,
      training_loss: losses.reduce((x, y) => x + y, 0) / Math.max(1, losses.length),
      metrics: {
        train_runtime: runtime,
        train_tokens_per_second: tokens / runtime,
        epoch: result.steps / (total / a.num_train_epochs),
      },
    };
  }

  /** The loss on eval_dataset (or the given rows) with the current weights. */
  async evaluate(eval_dataset?: DatasetRow[]): Promise<{ eval_loss: number }> {
    const rows = eval_dataset ?? this.eval_dataset;
    if (!rows?.length)
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "evaluate() needs an eval_dataset", {
        subject: "eval_dataset",
      });
    const examples = this.encode(rows, "eval_dataset");
    let sum = 0,
      labels = 0;
    for (let i = 0; i < examples.length; i += this.args.per_device_eval_batch_size) {
      const r = await this.model.trainer.evaluate(examples.slice(i, i + this.args.per_device_eval_batch_size));
      sum += r.loss * r.labels;
      labels += r.labels;
    }
    return { eval_loss: sum / labels };
  }

  /** Saves the adapter (PEFT format) to `dir` or args.output_dir. */
  save_model(dir?: string): Promise<void> {
    return this.model.save_pretrained(dir ?? this.args.output_dir);
  }
}
