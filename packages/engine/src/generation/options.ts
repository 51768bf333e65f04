import { z } from "zod";

export { parseOrThrow } from "../parse_or_throw.js";
import { constraintSchema } from "./constraint.js";
import type { GenerationDefaults } from "../model/generation_config.js";
import type { NativeSamplingParams } from "../native/addon_types.js";

/** Sampling options (transformers' names in camelCase). `temperature: 0` means greedy. */
export const samplingOptionsSchema = z.object({
  temperature: z.number().min(0).optional(),
  topK: z.number().int().min(0).optional(),
  topP: z.number().gt(0).max(1).optional(),
  minP: z.number().min(0).max(1).optional(),
  repetitionPenalty: z.number().gt(0).optional(),
  /** Fixes the random stream: the same seed, prompt and options give the same tokens. */
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /** Forces sampling on (true) or greedy decoding (false); default from generation_config.json. */
  doSample: z.boolean().optional(),
});

export type SamplingOptions = z.infer<typeof samplingOptionsSchema>;

export const generateOptionsSchema = samplingOptionsSchema.extend({
  maxNewTokens: z.number().int().positive().optional(),
  /** Strings that end generation; the returned text stops before them. */
  stop: z.union([z.string(), z.array(z.string())]).optional(),
  /** Extra token ids that end generation (the model's end-of-sequence ids always do, unless ignoreEos). */
  stopTokenIds: z.array(z.number().int().nonnegative()).optional(),
  /** A LoRA adapter loaded with engine.loadAdapter, applied to this request only. */
  adapter: z.string().optional(),
  /** Keep generating past end-of-sequence tokens (benchmarks); only stopTokenIds, stop and maxNewTokens end it. */
  ignoreEos: z.boolean().optional(),
  /**
   * Per-token log-probabilities (log softmax of the raw logits, before sampling processors) with
   * this many most likely alternatives (0..20); on every token event as `logprobs`.
   */
  logprobs: z.number().int().min(0).max(20).optional(),
  /** Constrains the output to a JSON schema, any JSON object, a regex or a GBNF grammar (see constraint.ts). */
  constraint: constraintSchema.optional(),
});

export type GenerateOptionsBase = z.infer<typeof generateOptionsSchema>;

/**
 * Resolves the sampler settings: explicit options first, then the checkpoint's
 * generation_config.json, then transformers' defaults.
 */
export function resolveSampling(opts: SamplingOptions, defaults: GenerationDefaults): NativeSamplingParams {
  const doSample = opts.temperature === 0 ? false : (opts.doSample ?? defaults.doSample ?? false);
  return {
    greedy: !doSample,
    temperature: opts.temperature ?? defaults.temperature ?? 1,
    topK: opts.topK ?? defaults.topK ?? 0,
    topP: opts.topP ?? defaults.topP ?? 1,
    minP: opts.minP ?? defaults.minP ?? 0,
    repetitionPenalty: opts.repetitionPenalty ?? defaults.repetitionPenalty ?? 1,
    seed: opts.seed ?? Math.floor(Math.random() * Number.MAX_SAFE_INTEGER),
  };
}
