/**
 * transformers' learning-rate schedules: the rate of optimizer step `step` (0-based) is the peak
 * times the schedule's factor at `step`, as LambdaLR gives it (step 0 of a warm-up runs at 0).
 */
import type { ResolvedOptimizerOptions } from "./options.js";

export function learningRate(opt: ResolvedOptimizerOptions, step: number): number {
  const warmup = opt.warmupSteps;
  if (step < warmup) return (opt.lr * step) / Math.max(1, warmup);
  if (opt.schedule === "constant" || opt.totalSteps === undefined) return opt.lr;
  const progress = (step - warmup) / Math.max(1, opt.totalSteps - warmup);
  if (opt.schedule === "linear") return opt.lr * Math.max(0, 1 - progress);
  return opt.lr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
}
