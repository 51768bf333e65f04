/**
 * Initial LoRA weights, as peft's init_lora_weights makes them (from our seeded stream, not torch's):
 * "default": A Kaiming-uniform (a = √5: bound 1/√in), B zero, so training starts from the base model;
 * "gaussian": A normal with standard deviation 1/r, B zero.
 */
import type { LoraTarget } from "./lora_targets.js";
import type { Random } from "./random.js";

export function initialWeights(
  t: LoraTarget,
  mode: "default" | "gaussian",
  random: Random,
): { a: Float32Array; b: Float32Array } {
  const a = new Float32Array(t.experts * t.rank * t.inFeatures);
  const bound = 1 / Math.sqrt(t.inFeatures);
  for (let i = 0; i < a.length; i++)
    a[i] = mode === "gaussian" ? random.normal() / t.rank : (2 * random.uniform() - 1) * bound;
  return { a, b: new Float32Array(t.outFeatures * t.experts * t.rank) };
}
