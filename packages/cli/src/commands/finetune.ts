import path from "node:path";

import {
  Engine,
  latestCheckpoint,
  loadJsonlDataset,
  stepsPerEpoch,
  trainLoop,
  type TrainProgress,
} from "@wenxin/engine";
import { loadOptionsSchema, optimizerOptionsSchema, parseOrThrow, trainerOptionsSchema } from "@wenxin/engine/internal";

import { numberOption, parseCommandArgs, type Command } from "./command.js";

const USAGE = `Usage: wenxin finetune --model DIR --data train.jsonl --out DIR [options]

Trains a LoRA adapter on the model and saves it in PEFT's format (adapter_config.json,
adapter_model.safetensors in --out), which engine.loadAdapter, wenxin serve, ChatWenxin and Python's
peft load. Checkpoints (adapter + optimizer state) go to --out/checkpoint-N after each epoch;
Ctrl-C saves one and stops, --resume continues from the newest.

Data: one JSON object per line, either
  {"messages": [{"role": "user", "content": "…"}, {"role": "assistant", "content": "…"}]}
      loss on the last assistant message; the rest rendered with the model's chat template
  {"prompt": "…", "completion": "…"}    loss on the completion (plain text, no template)
  {"text": "…"}                         loss on all of it
An example longer than --max-len keeps its first tokens; one left with no completion token is dropped.

Options:
  --model DIR             base checkpoint (directory or .gguf)
  --data FILE             training rows (JSONL)
  --out DIR               where the adapter and checkpoints go
  --eval FILE             held-back rows: their loss is reported after each epoch
  --r N                   LoRA rank (default 16)
  --alpha N               LoRA alpha: deltas are scaled by alpha / r (default 32)
  --dropout P             LoRA dropout (default 0)
  --target LIST           modules to adapt, comma-separated (default q_proj,v_proj; all-linear for all)
  --rslora                scale by alpha / sqrt(r)
  --epochs N              passes over the data (default 3)
  --lr X                  peak learning rate (default 2e-4)
  --schedule NAME         linear, cosine or constant (default linear)
  --warmup N              warm-up steps (default 0)
  --weight-decay X        AdamW's decoupled weight decay (default 0)
  --max-grad-norm X       clip the gradient norm before each step (default 1; 0: never)
  --batch N               sequences per forward/backward pass (default 4)
  --grad-accum N          passes per optimizer step (default 1)
  --max-len N             tokens per example (default 512)
  --activation-memory MB  layer intermediates kept from the forward; the backward recomputes the
                          layers beyond it (default 2048; 0: recompute all: least memory)
  --save-steps N          checkpoint every N steps (default: after each epoch)
  --save-total-limit N    checkpoints kept, the newest (default 1; 0: none but Ctrl-C's)
  --resume                continue from the newest checkpoint in --out
  --weights FORMAT        how the frozen base is held: bf16, q8 or q4 (QLoRA-style) (default bf16)
  --compute-dtype TYPE    products through the base: float32 (exact) or bf16 (activations rounded
                          to bf16, as PyTorch's bfloat16 models; faster on AVX-512 BF16) (default float32)
  --seed N                data order, LoRA init and dropout (default 0)
  --threads N             threads (default: all CPUs)`;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
      : `${s}s`;
}

/** The live progress line: step, loss, tokens/s, ETA (rewritten in place on a terminal). */
export function progressLine(p: TrainProgress): string {
  return (
    `step ${p.step}/${p.totalSteps}  epoch ${p.epoch.toFixed(2)}  loss ${p.loss.toFixed(4)}` +
    (p.evalLoss !== undefined ? `  eval ${p.evalLoss.toFixed(4)}` : "") +
    `  lr ${p.learningRate.toExponential(2)}  ${p.tokensPerSecond.toFixed(0)} tok/s  ETA ${duration(p.etaSeconds)}`
  );
}

export const finetuneCommand: Command = {
  summary: "train a LoRA adapter (PEFT format) on a JSONL dataset",
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        model: { type: "string" },
        data: { type: "string" },
        out: { type: "string" },
        eval: { type: "string" },
        r: { type: "string" },
        alpha: { type: "string" },
        dropout: { type: "string" },
        target: { type: "string" },
        rslora: { type: "boolean" },
        epochs: { type: "string" },
        lr: { type: "string" },
        schedule: { type: "string" },
        warmup: { type: "string" },
        "weight-decay": { type: "string" },
        "max-grad-norm": { type: "string" },
        batch: { type: "string" },
        "grad-accum": { type: "string" },
        "max-len": { type: "string" },
        "activation-memory": { type: "string" },
        "save-steps": { type: "string" },
        "save-total-limit": { type: "string" },
        resume: { type: "boolean" },
        weights: { type: "string" },
        "compute-dtype": { type: "string" },
        seed: { type: "string" },
        threads: { type: "string" },
      },
      USAGE,
    );
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (!values.model || !values.data || !values.out) {
      console.error(`wenxin finetune: --model, --data and --out are required\n\n${USAGE}`);
      return 1;
    }
    const epochs = numberOption(values.epochs, "epochs") ?? 3;
    const batchSize = numberOption(values.batch, "batch") ?? 4;
    const gradAccum = numberOption(values["grad-accum"], "grad-accum") ?? 1;
    const maxLength = numberOption(values["max-len"], "max-len") ?? 512;
    const seed = numberOption(values.seed, "seed") ?? 0;
    const activationMb = numberOption(values["activation-memory"], "activation-memory");
    if (activationMb !== undefined && !(activationMb >= 0))
      throw new Error(`--activation-memory must be a number of MB >= 0, got ${activationMb}`);
    for (const [name, v] of Object.entries({ epochs, batch: batchSize, "grad-accum": gradAccum, "max-len": maxLength }))
      if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
    // The named choices are checked before the model loads, against the options' own schemas.
    const computeDtype = parseOrThrow(
      trainerOptionsSchema.shape.computeDtype,
      values["compute-dtype"],
      "--compute-dtype",
    );
    const schedule = parseOrThrow(optimizerOptionsSchema.shape.schedule, values.schedule, "--schedule");
    const weights = parseOrThrow(loadOptionsSchema.shape.weights, values.weights ?? "bf16", "--weights");
    const out = path.resolve(values.out);
    const resumeFrom = values.resume ? await latestCheckpoint(out) : undefined;
    if (values.resume && !resumeFrom) throw new Error(`--resume: ${out} has no checkpoint-N folder to resume from`);

    const engine = await Engine.load(values.model, {
      threads: numberOption(values.threads, "threads"),
      maxContext: maxLength,
      weights,
    });
    try {
      const target = values.target ?? "q_proj,v_proj";
      const r = numberOption(values.r, "r") ?? 16;
      const trainer = await engine.createTrainer({
        lora: {
          r,
          alpha: numberOption(values.alpha, "alpha") ?? 2 * r,
          dropout: numberOption(values.dropout, "dropout") ?? 0,
          targetModules: target === "all-linear" ? target : target.split(",").map((t) => t.trim()),
          rslora: values.rslora ?? false,
        },
        optimizer: {
          lr: numberOption(values.lr, "lr") ?? 2e-4,
          schedule,
          warmupSteps: numberOption(values.warmup, "warmup") ?? 0,
          weightDecay: numberOption(values["weight-decay"], "weight-decay") ?? 0,
          maxGradNorm: numberOption(values["max-grad-norm"], "max-grad-norm") ?? 1,
        },
        activationMemoryBytes: activationMb === undefined ? undefined : Math.round(activationMb * 2 ** 20),
        computeDtype,
        seed,
      });
      // Read with the model's tokenizer and chat template (the trainer's encoding rules).
      const train = await loadJsonlDataset(path.resolve(values.data), (row) => trainer.encode(row, maxLength));
      const evalSet = values.eval
        ? await loadJsonlDataset(path.resolve(values.eval), (row) => trainer.encode(row, maxLength))
        : undefined;
      const totalSteps = stepsPerEpoch(train.examples.length, batchSize, gradAccum) * epochs;
      const s = train.stats;
      console.log(
        `${train.file}: ${s.examples} examples, ${s.tokens} tokens` +
          (s.truncated ? `, ${s.truncated} cut to ${maxLength} tokens` : "") +
          (s.dropped ? `, ${s.dropped} dropped (nothing to learn within ${maxLength} tokens)` : "") +
          (evalSet ? `; eval: ${evalSet.stats.examples} examples` : ""),
      );
      console.log(
        `LoRA r ${r} on ${trainer.targets.length} places, ${trainer.parameterCount.toLocaleString("en")} trainable values; ` +
          `${totalSteps} steps of ${batchSize * gradAccum} examples` +
          (resumeFrom ? `; resuming from ${resumeFrom}` : ""),
      );

      const abort = new AbortController();
      const onSigint = () => {
        if (abort.signal.aborted) process.exit(130); // a second Ctrl-C: stop now
        abort.abort();
        process.stderr.write("\nstopping after this step to save a checkpoint (Ctrl-C again to quit at once)\n");
      };
      process.on("SIGINT", onSigint);
      const tty = process.stdout.isTTY;
      try {
        const result = await trainLoop(trainer, train.examples, {
          epochs,
          batchSize,
          gradAccum,
          seed,
          evalExamples: evalSet?.examples,
          outputDir: out,
          saveSteps: numberOption(values["save-steps"], "save-steps"),
          saveTotalLimit: numberOption(values["save-total-limit"], "save-total-limit"),
          resumeFrom,
          signal: abort.signal,
          onProgress: (p) => {
            const line = progressLine(p);
            if (tty) process.stdout.write(`\r\x1b[2K${line}${p.evalLoss !== undefined ? "\n" : ""}`);
            else console.log(line);
          },
        });
        if (tty) process.stdout.write("\n");
        if (result.interrupted) {
          console.log(
            `interrupted at step ${result.steps}; checkpoint in ${result.checkpoint} (continue with --resume)`,
          );
          return 130;
        }
        console.log(`adapter saved to ${out} (${result.steps} steps)`);
        return 0;
      } finally {
        process.off("SIGINT", onSigint);
      }
    } finally {
      await engine.close();
    }
  },
};
