import { fromNativeError } from "../errors.js";
import { nativeAddon } from "../native/binding.js";
import { parseOrThrow, samplingOptionsSchema, type SamplingOptions } from "./options.js";

/**
 * Runs the engine's logits processors (repetition penalty, temperature, top-k, top-p, min-p, in
 * transformers' order) on one row, exactly as the sampler does before drawing. Removed entries
 * are -Infinity. `previousIds` are the tokens the repetition penalty sees.
 */
export function applyLogitsProcessors(
  logits: Float32Array,
  previousIds: ArrayLike<number>,
  options: SamplingOptions,
): Float32Array {
  const o = parseOrThrow(samplingOptionsSchema, options, "logits processor options");
  try {
    return nativeAddon().applyLogitsProcessors(logits, Int32Array.from(previousIds), {
      greedy: o.temperature === 0 || o.doSample === false,
      temperature: o.temperature ?? 1,
      topK: o.topK ?? 0,
      topP: o.topP ?? 1,
      minP: o.minP ?? 0,
      repetitionPenalty: o.repetitionPenalty ?? 1,
      seed: o.seed ?? 0,
    });
  } catch (err) {
    throw fromNativeError(err);
  }
}
