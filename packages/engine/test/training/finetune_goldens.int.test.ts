// LoRA training against PyTorch + transformers + peft (test/fixtures/ernie45/finetune/, float32
// base, dropout 0): per-example losses, the step-0 gradient of every LoRA tensor, the loss and
// pre-clip gradient norm of three AdamW steps with clipping, and the adapter after them; then that
// adapter, saved in PEFT's format, loads for inference and gives the trained model's losses.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine, type LoraTrainer } from "../../src/index.js";
import { loadFinetuneCase, readSafetensors } from "../../../../test/helpers/fixtures.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-finetune-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Mean cross-entropy of labels[t + 1] under logits[t], as transformers' causal-LM loss. */
function lossFromLogits(logits: Float32Array, ids: number[], labels: number[], vocab: number): number {
  let sum = 0,
    n = 0;
  for (let t = 0; t + 1 < ids.length; t++) {
    const y = labels[t + 1]!;
    if (y === -100) continue;
    const row = logits.subarray(t * vocab, (t + 1) * vocab);
    const m = row.reduce((a, b) => Math.max(a, b), -Infinity);
    const s = row.reduce((a, b) => a + Math.exp(b - m), 0);
    sum += m + Math.log(s) - row[y]!;
    n++;
  }
  return sum / n;
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe.each(["dense-qv", "dense-all", "moe-attn-mlp"] as const)("finetune golden %s", (name) => {
  const golden = loadFinetuneCase(name);
  const g = golden.json;
  const batch = { inputIds: g.batch.input_ids, attentionMask: g.batch.attention_mask, labels: g.batch.labels };
  const examples = g.examples.map((e) => ({ inputIds: e.input_ids, labels: e.labels }));
  let engine: Engine;
  let trainer: LoraTrainer;

  beforeAll(async () => {
    engine = await Engine.load(golden.baseDir, { threads: 2 });
    trainer = await engine.createTrainer({
      lora: { from: path.join(golden.dir, "adapter-initial") },
      optimizer: {
        lr: g.optimizer.lr,
        betas: g.optimizer.betas,
        eps: g.optimizer.eps,
        weightDecay: g.optimizer.weight_decay,
        maxGradNorm: g.optimizer.max_grad_norm,
        schedule: "constant",
      },
    });
  });
  afterAll(() => engine?.close());

  it("per-example losses of the initial adapter within 1e-4 relative", async () => {
    const { perExample } = await trainer.evaluate(examples);
    perExample.forEach((l, i) => expect(relative(l, g.single_example_losses_initial[i]!)).toBeLessThan(1e-4));
  });

  it("step 0 on the right-padded batch: loss, and every gradient within 1e-3 of its tensor's largest", async () => {
    const { loss } = await trainer.computeGradients(batch);
    expect(relative(loss, g.losses[0]!)).toBeLessThan(1e-4);
    const expected = readSafetensors(path.join(golden.dir, "grads-step0.safetensors"));
    const grads = await trainer.gradients();
    expect([...grads.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [tensor, want] of expected) {
      const got = grads.get(tensor)!;
      let largest = 0,
        worst = 0;
      want.data.forEach((w, i) => {
        largest = Math.max(largest, Math.abs(w));
        worst = Math.max(worst, Math.abs(w - got[i]!));
      });
      expect(worst / largest, tensor).toBeLessThan(1e-3);
    }
  });

  it("three AdamW steps with clipping: losses, gradient norms, and the adapter after them", async () => {
    const first = await trainer.applyGradients();
    expect(relative(first.gradNorm, g.grad_norms_before_clip[0]!)).toBeLessThan(1e-4);
    for (const s of [1, 2]) {
      const r = await trainer.step(batch);
      expect(relative(r.loss, g.losses[s]!)).toBeLessThan(1e-4);
      expect(relative(r.gradNorm, g.grad_norms_before_clip[s]!)).toBeLessThan(1e-4);
    }
    const after = readSafetensors(path.join(golden.dir, "adapter-after-3-steps", "adapter_model.safetensors"));
    const grads0 = readSafetensors(path.join(golden.dir, "grads-step0.safetensors"));
    const params = await trainer.parameters();
    for (const [tensor, want] of after) {
      const got = params.get(tensor)!;
      const g0 = grads0.get(tensor)!.data;
      const largest = g0.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
      want.data.forEach((w, i) => {
        // AdamW moves each element by about lr whatever its gradient; where the step-0 gradient is below
        // float32's resolution of the tensor (|g| < 1e-6 of its largest), its sign and size are noise in
        // PyTorch's own run too, and only the bound of three such moves holds.
        const tol = Math.abs(g0[i]!) < 1e-6 * largest ? 3 * g.optimizer.lr : 1e-4;
        if (Math.abs(w - got[i]!) > tol) expect.fail(`${tensor}[${i}]: ${got[i]} vs ${w}`);
      });
    }
  });

  it("the adapter saved in PEFT's format loads for inference and gives the trained model", async () => {
    const dir = path.join(tmp, name);
    await trainer.saveAdapter(dir);
    // Laid out as Python peft lays it out (the after-3-steps adapters are peft's own): the same tensors
    // and shapes, and the config fields peft reads. (Python peft 0.21 loads these adapters and gives our
    // logits to 1e-6; packages/bench/README.md says how that was checked.)
    const python = path.join(golden.dir, "adapter-after-3-steps");
    const ours = readSafetensors(path.join(dir, "adapter_model.safetensors"));
    const theirs = readSafetensors(path.join(python, "adapter_model.safetensors"));
    expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
    for (const [k, t] of theirs) expect(ours.get(k)!.shape, k).toEqual(t.shape);
    const config = JSON.parse(readFileSync(path.join(dir, "adapter_config.json"), "utf8"));
    const want = JSON.parse(readFileSync(path.join(python, "adapter_config.json"), "utf8"));
    for (const field of ["peft_type", "task_type", "r", "lora_alpha", "use_rslora", "rank_pattern", "alpha_pattern"])
      expect(config[field], field).toEqual(want[field]);
    expect(config.target_modules ?? []).toEqual(expect.arrayContaining(want.target_modules ?? []));
    expect(config.target_parameters ?? null).toEqual(want.target_parameters ?? null);
    await engine.loadAdapter("trained", dir);
    await engine.loadAdapter("golden", path.join(golden.dir, "adapter-after-3-steps"));
    const trained = await trainer.evaluate(examples);
    const vocab = engine.config.hparams.vocabSize;
    for (const [i, e] of g.examples.entries()) {
      const ours = lossFromLogits(
        await engine.logits(e.input_ids, { adapter: "trained" }),
        e.input_ids,
        e.labels,
        vocab,
      );
      const peft = lossFromLogits(
        await engine.logits(e.input_ids, { adapter: "golden" }),
        e.input_ids,
        e.labels,
        vocab,
      );
      expect(relative(ours, trained.perExample[i]!)).toBeLessThan(1e-5);
      expect(relative(peft, trained.perExample[i]!)).toBeLessThan(1e-4);
    }
  });

  it("the Python-peft adapter after 3 steps gives the trained model's logits, element by element", async () => {
    for (const e of g.examples) {
      const ours = await engine.logits(e.input_ids, { adapter: "trained" });
      const peft = await engine.logits(e.input_ids, { adapter: "golden" });
      const base = await engine.logits(e.input_ids);
      let largest = 0,
        worst = 0,
        moved = 0;
      peft.forEach((p, i) => {
        largest = Math.max(largest, Math.abs(p));
        worst = Math.max(worst, Math.abs(p - ours[i]!));
        moved = Math.max(moved, Math.abs(p - base[i]!));
      });
      expect(worst / largest).toBeLessThan(1e-4);
      expect(moved / largest).toBeGreaterThan(100 * (worst / largest)); // the adapter does change them
    }
  });
});
