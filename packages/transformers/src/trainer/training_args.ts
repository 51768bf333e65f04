/**
 * transformers' TrainingArguments for LoRA fine-tuning, with their names and defaults; the subset
 * the engine's training loop honours (others are refused by name rather than ignored).
 */
import { z } from "zod";

import { parseOptions } from "../utils/options.js";

const trainingArgsSchema = z
  .object({
    output_dir: z.string(),
    num_train_epochs: z.number().int().positive().default(3),
    per_device_train_batch_size: z.number().int().positive().default(8),
    per_device_eval_batch_size: z.number().int().positive().default(8),
    gradient_accumulation_steps: z.number().int().positive().default(1),
    learning_rate: z.number().positive().default(5e-5),
    weight_decay: z.number().min(0).default(0),
    adam_beta1: z.number().min(0).lt(1).default(0.9),
    adam_beta2: z.number().min(0).lt(1).default(0.999),
    adam_epsilon: z.number().positive().default(1e-8),
    max_grad_norm: z.number().min(0).default(1),
    lr_scheduler_type: z.enum(["linear", "cosine", "constant", "constant_with_warmup"]).default("linear"),
    warmup_steps: z.number().int().nonnegative().default(0),
    /** Fraction of the run spent warming up (used when warmup_steps is 0). */
    warmup_ratio: z.number().min(0).max(1).default(0),
    eval_strategy: z.enum(["no", "steps", "epoch"]).default("no"),
    eval_steps: z.number().int().positive().optional(),
    save_strategy: z.enum(["no", "steps", "epoch"]).default("epoch"),
    save_steps: z.number().int().positive().optional(),
    save_total_limit: z.number().int().nonnegative().optional(),
    logging_steps: z.number().int().positive().default(1),
    seed: z.number().int().nonnegative().default(42),
    /** Tokens per example (TRL's SFTConfig.max_length): longer examples keep their first tokens. */
    max_length: z.number().int().positive().default(1024),
  })
  .strict();

export type TrainingArgumentsInit = z.input<typeof trainingArgsSchema>;
type TrainingArgumentsFields = z.output<typeof trainingArgsSchema>;

// The fields, declared on the class through this merged interface (as GenerationConfig does).
export interface TrainingArguments extends TrainingArgumentsFields {
  output_dir: string;
}

export class TrainingArguments {
  constructor(init: TrainingArgumentsInit) {
    Object.assign(this, parseOptions(trainingArgsSchema, init, "TrainingArguments"));
  }
}
