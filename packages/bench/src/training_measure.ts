/**
 * One training measurement in a fresh process (peak RSS belongs to one trainer):
 *   node training_measure.js '{"model": DIR, "weights": "bf16"|"q4", "batch": 1, "seq": 512, "steps": 3,
 *                              "threads": 2, "r": 16, "alpha": 32, "checkpointing": true}'
 * A warm-up step, then `steps` timed optimizer steps (forward, backward, clipping, AdamW) of LoRA on
 * q_proj/v_proj over `batch` sequences of `seq` synthetic tokens, every token a label.
 * Prints one JSON line: { tok_s, step_s, rss_mb }, tok_s from the median step.
 */
import { performance } from "node:perf_hooks";

import { runMeasurementChild } from "./child_protocol.js";
import { syntheticTokens } from "./synthetic_tokens.js";

export interface TrainingMeasureRequest {
  model: string;
  weights: "bf16" | "q8" | "q4";
  batch: number;
  seq: number;
  steps: number;
  threads: number;
  r: number;
  alpha: number;
  /** The modules LoRA adapts. */
  targets: string[];
  checkpointing: boolean;
  /** Bytes of layer intermediates kept (the trainer's default when absent). */
  activationMemoryBytes?: number;
  /** The trainer's computeDtype (its default when absent). */
  computeDtype?: "float32" | "bf16";
}

export interface TrainingMeasurement {
  tok_s: number;
  step_s: number[];
  /** CPU seconds of the process (all threads, user + system) in each timed step. */
  cpu_s: number[];
  rss_mb: number;
  /** PyTorch's child only: the code path ATen ran at (`torch.backends.cpu.get_cpu_capability()`). */
  capability?: string;
}

async function measure(r: TrainingMeasureRequest): Promise<TrainingMeasurement> {
  const { Engine } = await import("@wenxin/engine");
  const engine = await Engine.load(r.model, { threads: r.threads, weights: r.weights, maxContext: r.seq });
  const trainer = await engine.createTrainer({
    lora: { r: r.r, alpha: r.alpha, targetModules: r.targets },
    optimizer: { lr: 2e-4, maxGradNorm: 1, schedule: "constant" },
    checkpointing: r.checkpointing,
    activationMemoryBytes: r.activationMemoryBytes,
    computeDtype: r.computeDtype,
  });
  const vocab = engine.config.hparams.vocabSize;
  const batch = Array.from({ length: r.batch }, (_, i) => ({ inputIds: syntheticTokens(r.seq, vocab, i + 1) }));
  await trainer.step(batch); // warm-up: page in weights, size buffers
  const times: number[] = [];
  const cpu: number[] = [];
  for (let s = 0; s < r.steps; s++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    await trainer.step(batch);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1e6);
    times.push((performance.now() - start) / 1000);
  }
  await engine.close();
  const sorted = [...times].sort((a, b) => a - b);
  return {
    tok_s: (r.batch * r.seq) / sorted[Math.floor(sorted.length / 2)]!,
    step_s: times,
    cpu_s: cpu,
    rss_mb: process.resourceUsage().maxRSS / 1024,
  };
}

runMeasurementChild(measure);
