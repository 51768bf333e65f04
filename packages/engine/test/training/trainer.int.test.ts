// What the finetune goldens cannot show: gradient accumulation equals the large batch, a q4 base
// trains with gradients close to the float base's, seeded dropout, a resumed run continues the same
// loss curve, training leaves the event loop free, the memorize case learns its answer, and the
// encoding rules give the goldens' ids and labels.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine, trainLoop, type TrainingRow } from "../../src/index.js";
import { DENSE_DIR, FIXTURES, MOE_DIR, loadFinetuneCase, relativeL2 } from "../../../../test/helpers/fixtures.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-trainer-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const golden = loadFinetuneCase("dense-qv").json;
const rows: TrainingRow[] = golden.examples.map((e) => ({ messages: e.messages }));

function flat(m: Map<string, Float32Array>): Float32Array {
  const keys = [...m.keys()].sort();
  const out = new Float32Array(keys.reduce((n, k) => n + m.get(k)!.length, 0));
  let o = 0;
  for (const k of keys) {
    out.set(m.get(k)!, o);
    o += m.get(k)!.length;
  }
  return out;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

function maxRelative(a: Float32Array, b: Float32Array): number {
  let d = 0,
    m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

/** Mean cross-entropy of labels[t + 1] under logits[t], as transformers' causal-LM loss. */
function lossOf(logits: Float32Array, ids: number[], labels: number[]): number {
  const vocab = logits.length / ids.length;
  let sum = 0,
    n = 0;
  for (let t = 0; t + 1 < ids.length; t++) {
    const y = labels[t + 1]!;
    if (y === -100) continue;
    const row = logits.subarray(t * vocab, (t + 1) * vocab);
    const m = row.reduce((a, b) => Math.max(a, b), -Infinity);
    sum += m + Math.log(row.reduce((a, b) => a + Math.exp(b - m), 0)) - row[y]!;
    n++;
  }
  return sum / n;
}

describe("LoRA trainer on the dense model", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2 });
  });
  afterAll(() => engine?.close());

  const lora = { r: 8, alpha: 16, targetModules: ["q_proj", "v_proj", "down_proj"], init: "gaussian" as const };

  it("encodes chat rows exactly as the goldens were encoded", async () => {
    const trainer = await engine.createTrainer({ lora });
    for (const e of golden.examples)
      expect(trainer.encode({ messages: e.messages })).toEqual({
        inputIds: e.input_ids,
        labels: e.labels,
        truncated: 0,
      });
    const long = trainer.encode({ messages: golden.examples[0]!.messages }, 24)!;
    expect(long.inputIds).toEqual(golden.examples[0]!.input_ids.slice(0, 24));
    expect(long.truncated).toBe(golden.examples[0]!.input_ids.length - 24);
    expect(trainer.encode({ messages: golden.examples[0]!.messages }, 20)).toBeUndefined(); // nothing left to learn
    expect(() => trainer.encode({ messages: [{ role: "user", content: "hi" }] })).toThrow(/last message is 'user'/);
  });

  it("gradient accumulation over micro-batches equals the large batch", async () => {
    const whole = await engine.createTrainer({ lora, seed: 3 });
    const accumulated = await engine.createTrainer({ lora, seed: 3 });
    const a = await whole.step(rows);
    const b = await accumulated.step(rows, { microBatchSize: 1 });
    expect(Math.abs(a.loss - b.loss) / a.loss).toBeLessThan(1e-6);
    expect(Math.abs(a.gradNorm - b.gradNorm) / a.gradNorm).toBeLessThan(1e-5);
    expect(maxRelative(flat(await accumulated.gradients()), flat(await whole.gradients()))).toBeLessThan(1e-5);
    expect(maxRelative(flat(await accumulated.parameters()), flat(await whole.parameters()))).toBeLessThan(1e-5);
  });

  it("activation checkpointing: every layer recomputed, some, or none gives the same loss and gradients", async () => {
    const run = async (options: { checkpointing?: boolean; activationMemoryBytes?: number }) => {
      const t = await engine.createTrainer({ lora: { ...lora, dropout: 0.2 }, seed: 5, ...options });
      const { loss } = await t.computeGradients(rows);
      return { loss, grads: flat(await t.gradients()) };
    };
    // Each of the tiny model's 4 layers holds about 0.9 MB of intermediates for these rows: the budgets
    // between 0 (recompute all) and unlimited (checkpointing off) keep 1, 2 or 3 layers.
    const kept = await run({ checkpointing: false });
    for (const activationMemoryBytes of [0, 1_000_000, 2_000_000, 3_000_000, undefined]) {
      const r = await run({ activationMemoryBytes });
      expect(r.loss).toBe(kept.loss);
      expect(r.grads).toEqual(kept.grads);
    }
  });

  it("LoRA dropout is seeded: the same seed repeats, another differs, evaluation has none", async () => {
    const grads = async (seed: number, dropout: number) => {
      const t = await engine.createTrainer({ lora: { ...lora, dropout }, seed });
      const { loss } = await t.computeGradients(rows);
      return { loss, grads: flat(await t.gradients()), evaluated: (await t.evaluate(rows)).loss };
    };
    const [a, b, c, none] = await Promise.all([grads(1, 0.3), grads(1, 0.3), grads(2, 0.3), grads(1, 0)]);
    expect(a.grads).toEqual(b.grads);
    expect(a.loss).toBe(b.loss);
    expect(maxRelative(c.grads, a.grads)).toBeGreaterThan(1e-3);
    expect(maxRelative(none.grads, a.grads)).toBeGreaterThan(1e-3);
    expect(a.evaluated).toBeCloseTo(none.evaluated, 10); // same init (same seed), no dropout in evaluation
  });

  it("rsLoRA scales by alpha / sqrt(r): r 4, alpha 8 trains as plain LoRA with alpha 16, and saves use_rslora", async () => {
    const base = { r: 4, targetModules: ["q_proj", "v_proj"], init: "gaussian" as const };
    const rs = await engine.createTrainer({ lora: { ...base, alpha: 8, rslora: true }, seed: 4 });
    const plain = await engine.createTrainer({ lora: { ...base, alpha: 16 }, seed: 4 });
    const wrong = await engine.createTrainer({ lora: { ...base, alpha: 8 }, seed: 4 }); // alpha / r: half the scale
    const a = await rs.computeGradients(rows);
    const b = await plain.computeGradients(rows);
    await wrong.computeGradients(rows); // B starts at zero: same loss, gradients scaled by the scaling
    expect(Math.abs(a.loss - b.loss) / b.loss).toBeLessThan(1e-6);
    expect(maxRelative(flat(await rs.gradients()), flat(await plain.gradients()))).toBeLessThan(1e-5);
    expect(maxRelative(flat(await rs.gradients()), flat(await wrong.gradients()))).toBeGreaterThan(0.1);
    await rs.applyGradients();
    const dir = path.join(tmp, "rslora");
    await rs.saveAdapter(dir);
    expect(JSON.parse(readFileSync(path.join(dir, "adapter_config.json"), "utf8"))).toMatchObject({
      r: 4,
      lora_alpha: 8,
      use_rslora: true,
    });
    // loadAdapter scales it the same way: the served model is the trained one.
    await engine.loadAdapter("rslora", dir);
    const e = golden.examples[0]!;
    const served = lossOf(await engine.logits(e.input_ids, { adapter: "rslora" }), e.input_ids, e.labels);
    const trained = (await rs.evaluate([{ inputIds: e.input_ids, labels: e.labels }])).loss;
    expect(Math.abs(served - trained) / trained).toBeLessThan(1e-5);
  });

  it("trainLoop reports the held-back set's loss (mean over its labels) at each epoch end", async () => {
    const data = golden.examples.map((e) => ({ inputIds: e.input_ids, labels: e.labels }));
    const trainer = await engine.createTrainer({ lora, optimizer: { lr: 5e-3 } });
    const seen: (number | undefined)[] = [];
    const r = await trainLoop(trainer, data.slice(0, 2), {
      epochs: 2,
      batchSize: 1,
      evalExamples: data.slice(2),
      onProgress: (p) => seen.push(p.evalLoss),
    });
    expect(r.history.map((h) => h.eval_loss !== undefined)).toEqual([false, true, false, true]);
    expect(seen).toEqual(r.history.map((h) => h.eval_loss));
    const now = await trainer.evaluate(data.slice(2));
    expect(Math.abs(r.history.at(-1)!.eval_loss! - now.loss) / now.loss).toBeLessThan(1e-6);
  });

  it("a resumed run continues the same loss curve", async () => {
    const data = golden.examples.map((e) => ({ inputIds: e.input_ids, labels: e.labels }));
    const opts = { epochs: 4, batchSize: 2, seed: 5 };
    const optimizer = { lr: 5e-3, warmupSteps: 2 };
    const straight = await trainLoop(await engine.createTrainer({ lora, optimizer }), data, opts);
    const out = path.join(tmp, "resume");
    const abort = new AbortController();
    const first = await trainLoop(await engine.createTrainer({ lora, optimizer }), data, {
      ...opts,
      outputDir: out,
      signal: abort.signal,
      onProgress: (p) => p.step === 3 && abort.abort(),
    });
    expect(first).toMatchObject({ interrupted: true, steps: 3, checkpoint: path.join(out, "checkpoint-3") });
    const resumed = await trainLoop(await engine.createTrainer({ lora, optimizer }), data, {
      ...opts,
      outputDir: out,
      resumeFrom: first.checkpoint,
    });
    expect(resumed.steps).toBe(straight.steps);
    expect(resumed.history.map((h) => h.step)).toEqual(straight.history.map((h) => h.step));
    resumed.history.forEach((h, i) => {
      expect(h.loss).toBeCloseTo(straight.history[i]!.loss, 5);
      expect(h.learning_rate).toBe(straight.history[i]!.learning_rate);
    });
    expect(JSON.parse(readFileSync(path.join(out, "adapter_config.json"), "utf8"))).toMatchObject({
      r: 8,
      lora_alpha: 16,
    });
  });

  it("training leaves the event loop free (the work runs on the engine's thread)", async () => {
    const trainer = await engine.createTrainer({ lora });
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    for (let i = 0; i < 3; i++) await trainer.step(rows);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    delay.disable();
    expect(ticks).toBeGreaterThan(elapsed / 5 / 4);
    expect(delay.max / 1e6).toBeLessThan(Math.max(50, elapsed / 4));
  });

  it("learns dense-memorize's answer: greedy decoding of its prompt then starts with it", async () => {
    const memorize = JSON.parse(readFileSync(path.join(FIXTURES, "finetune", "dense-memorize", "golden.json"), "utf8"));
    const trainer = await engine.createTrainer({
      lora: { r: memorize.lora.r, alpha: memorize.lora.lora_alpha, targetModules: memorize.lora.target_modules },
      optimizer: { lr: memorize.lr, schedule: "constant" },
    });
    let last = Infinity;
    for (let s = 0; s < memorize.steps; s++) last = (await trainer.step([{ messages: memorize.conversation }])).loss;
    expect(last).toBeLessThan(0.01);
    const dir = path.join(tmp, "memorize");
    await trainer.saveAdapter(dir);
    await engine.loadAdapter("memorize", dir);
    const answer = memorize.conversation.at(-1).content as string;
    const r = await engine
      .generate({ messages: memorize.conversation.slice(0, -1), maxNewTokens: 12, temperature: 0, adapter: "memorize" })
      .result();
    expect(r.text.startsWith(answer)).toBe(true);
    expect(memorize.greedy_after.startsWith(answer)).toBe(true); // what the reference decoded
  });

  it("refuses what it cannot train, naming it", async () => {
    await expect(engine.createTrainer({ lora: { targetModules: ["qproj"] } })).rejects.toMatchObject({
      code: "ERR_WENXIN_INVALID_ARGUMENT",
      message: expect.stringMatching(/'qproj' match no module/),
    });
    await expect(engine.createTrainer({ lora: { targetModules: ["lm_head"] } })).rejects.toThrow(/lm_head/);
    await expect(engine.createTrainer({ lora: { r: 0 } })).rejects.toMatchObject({
      code: "ERR_WENXIN_INVALID_ARGUMENT",
    });
    const trainer = await engine.createTrainer({ lora });
    await expect(trainer.step([{ inputIds: [1, 2, 3], labels: [-100, -100, -100] }])).rejects.toThrow(
      /no labelled token/,
    );
    await expect(trainer.step([{ inputIds: [1, 9000] }])).rejects.toMatchObject({
      code: "ERR_WENXIN_TOKEN_OUT_OF_RANGE",
    });
    await expect(trainer.step({ inputIds: [[1, 2, 0]], attentionMask: [[0, 1, 1]] })).rejects.toThrow(
      /not right-padded/,
    );
  });
});

describe("a quantized base trains (QLoRA-style)", () => {
  it("q8 and q4: gradients differ from the float base's by the quantization error; q4's loss falls", async () => {
    const lora = {
      r: 8,
      alpha: 16,
      targetModules: ["q_proj", "v_proj", "gate_proj", "up_proj", "down_proj"],
      init: "gaussian" as const,
    };
    const ids = golden.examples[0]!.input_ids;
    const run = async (weights: "bf16" | "q8" | "q4") => {
      const engine = await Engine.load(MOE_DIR, { threads: 2, weights });
      try {
        const trainer = await engine.createTrainer({ lora, optimizer: { lr: 5e-3, schedule: "constant" } });
        const { loss } = await trainer.computeGradients(rows);
        const grads = flat(await trainer.gradients());
        const logits = await engine.logits(ids);
        await trainer.applyGradients();
        let last = loss;
        for (let s = 0; s < 4; s++) last = (await trainer.step(rows)).loss;
        return { loss, last, grads, logits };
      } finally {
        await engine.close();
      }
    };
    const float = await run("bf16");
    for (const weights of ["q8", "q4"] as const) {
      const q = await run(weights);
      // The forward's own error (the quantization error, relative L2 of the logits) bounds the gradient's:
      // backpropagation through the same quantized weights amplifies it about 1.6× on these models.
      const forwardError = relativeL2(q.logits, float.logits);
      expect(relativeL2(q.grads, float.grads), weights).toBeLessThan(2.5 * forwardError);
      expect(q.last, weights).toBeLessThan(0.8 * q.loss);
      if (weights === "q8") expect(cosine(q.grads, float.grads)).toBeGreaterThan(0.99);
    }
  });
});
