/**
 * The options of engine.createTrainer: what LoRA trains (PEFT's LoraConfig in camelCase), how the
 * optimizer steps (torch's AdamW, transformers' schedules), and the trainer's own settings.
 */
import { z } from "zod";

const stringOrList = z.union([z.string(), z.array(z.string()).nonempty()]);

export const loraOptionsSchema = z
  .object({
    /** Rank (peft's `r`). */
    r: z.number().int().positive().default(8),
    /** Scale numerator (peft's `lora_alpha`): deltas are scaled by alpha / r (alpha / √r with rslora). */
    alpha: z.number().positive().default(8),
    /**
     * Module names (each matches `name` or `*.name`), a regex over full module names, or "all-linear".
     * On ERNIE MoE models gate/up/down_proj become the routed experts' fused parameters, as peft 0.21 does.
     */
    targetModules: stringOrList.default(["q_proj", "v_proj"]),
    /** Parameters adapted in place: `gate_up_proj` / `down_proj` of the routed experts (peft's target_parameters). */
    targetParameters: z.array(z.string()).optional(),
    excludeModules: stringOrList.optional(),
    layersToTransform: z.array(z.number().int().nonnegative()).optional(),
    /** Regex key → rank / alpha for the places it matches (peft's rank_pattern / alpha_pattern). */
    rankPattern: z.record(z.string(), z.number().int().positive()).optional(),
    alphaPattern: z.record(z.string(), z.number().positive()).optional(),
    /** Dropout on the LoRA input (peft's lora_dropout), seeded. */
    dropout: z.number().min(0).lt(1).default(0),
    /** Rank-stabilized LoRA: scale by alpha / √r. */
    rslora: z.boolean().default(false),
    /** peft's init_lora_weights: "default" (A Kaiming-uniform, B zero: the model starts unchanged) or "gaussian". */
    init: z.enum(["default", "gaussian"]).default("default"),
    /** Start from a PEFT adapter directory: its config and weights (other LoRA settings must be left out). */
    from: z.string().optional(),
  })
  .strict();

export type LoraOptions = z.input<typeof loraOptionsSchema>;

export const optimizerOptionsSchema = z
  .object({
    /** Peak learning rate. */
    lr: z.number().positive().default(2e-4),
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
    eps: z.number().positive().default(1e-8),
    /** Decoupled weight decay (torch.optim.AdamW). */
    weightDecay: z.number().min(0).default(0),
    /** Clip the global gradient norm to this before each step (0: never). */
    maxGradNorm: z.number().min(0).default(1),
    /** transformers' schedules: constant, or linear / cosine decay to 0 at totalSteps; warm-up first. */
    schedule: z.enum(["constant", "linear", "cosine"]).default("linear"),
    warmupSteps: z.number().int().nonnegative().default(0),
    /** Optimizer steps of the whole run (decay schedules need it). */
    totalSteps: z.number().int().positive().optional(),
  })
  .strict();

export type OptimizerOptions = z.input<typeof optimizerOptionsSchema>;
export type ResolvedOptimizerOptions = z.output<typeof optimizerOptionsSchema>;

export const trainerOptionsSchema = z
  .object({
    lora: loraOptionsSchema.prefault({}),
    optimizer: optimizerOptionsSchema.prefault({}),
    /**
     * Activation checkpointing (default true): keep each layer's intermediates from the forward while
     * they fit in `activationMemoryBytes` and recompute the other layers' in the backward. false keeps all.
     */
    checkpointing: z.boolean().default(true),
    /** Bytes of layer intermediates kept with checkpointing (default 2 GiB; 0 recomputes every layer). */
    activationMemoryBytes: z
      .number()
      .int()
      .nonnegative()
      .default(2 * 1024 ** 3),
    /**
     * The products through the frozen base weights (default "float32": exact float32 products of the
     * base's values). "bf16" rounds the activations and gradients to bf16 and sums in float32, as PyTorch
     * trains a bfloat16 model (AVX-512 BF16's vdpbf16ps where the CPU has it: about twice the multiply
     * rate); LoRA's own products, norms, attention and the loss stay float32. Either keeps the frozen
     * weights packed for its products from the first step (the LM head's, then the dense layers' up to
     * 1 GiB), float32 at twice bf16's memory.
     */
    computeDtype: z.enum(["float32", "bf16"]).default("float32"),
    /** Examples per forward/backward pass; a larger step accumulates gradients over several (default: all at once). */
    microBatchSize: z.number().int().positive().optional(),
    /** Seeds LoRA init and dropout. */
    seed: z.number().int().nonnegative().max(0xffffffff).default(0),
  })
  .strict();

export type TrainerOptions = z.input<typeof trainerOptionsSchema>;
export type ResolvedTrainerOptions = z.output<typeof trainerOptionsSchema>;
