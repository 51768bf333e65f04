// The trainer's bf16 compute (computeDtype "bf16": the products through the frozen base with the
// activations and gradients rounded to bf16, float32 sums, as PyTorch trains a bfloat16 model): loss
// and gradients within bf16's rounding of the float32 compute's, on a bf16 and a q4 base, the loss
// falls, and every kernel path (vdpbf16ps where the CPU has AVX-512 BF16, the products widened to
// float32 FMAs on the others) agrees within that rounding.
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { describe, expect, it } from "vitest";

import { Engine, systemInfo, type TrainingRow } from "../../src/index.js";
import { DENSE_DIR, loadFinetuneCase, relativeL2 } from "../../../../test/helpers/fixtures.js";

const golden = loadFinetuneCase("dense-qv").json;
const rows: TrainingRow[] = golden.examples.map((e) => ({ messages: e.messages }));
const lora = { r: 8, alpha: 16, targetModules: ["q_proj", "v_proj", "down_proj"], init: "gaussian" as const };
const engineIndex = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dist/index.js");

interface Run {
  loss: number;
  grads: number[];
}
type Runs = Record<"bf16" | "q4", Record<"float32" | "bf16", Run>>;

// Loss and gradients (sorted by name) of one step from the same initial adapter, for each base and
// compute dtype, under WENXIN_ISA=isa in a fresh process (the kernel table is chosen once).
async function runsUnder(isa: string): Promise<Runs> {
  const script = `const { Engine } = await import(${JSON.stringify(engineIndex)});
    const out = {};
    for (const weights of ["bf16", "q4"]) {
      const e = await Engine.load(${JSON.stringify(DENSE_DIR)}, { threads: 2, weights });
      out[weights] = {};
      for (const computeDtype of ["float32", "bf16"]) {
        const t = await e.createTrainer({ lora: ${JSON.stringify(lora)}, seed: 3, computeDtype });
        const { loss } = await t.computeGradients(${JSON.stringify(rows)});
        const g = await t.gradients();
        out[weights][computeDtype] = { loss, grads: [...g.keys()].sort().flatMap((k) => Array.from(g.get(k))) };
      }
      await e.close();
    }
    console.log(JSON.stringify(out));`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, WENXIN_ISA: isa },
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Runs;
}

describe("bf16 compute", () => {
  it("loss and gradients within bf16 rounding of float32 compute, on every kernel path", async () => {
    const { supported } = systemInfo().kernels;
    expect(supported.length).toBeGreaterThan(1);
    const all = new Map<string, Runs>();
    for (const isa of supported) all.set(isa, await runsUnder(isa));
    const first = all.get(supported[0]!)!;
    for (const [isa, runs] of all) {
      for (const base of ["bf16", "q4"] as const) {
        const exact = runs[base].float32,
          bf16 = runs[base].bf16;
        const what = `${isa} ${base}`;
        // bf16 keeps 8 significant bits (relative rounding ≤ 2^-9 ≈ 2e-3 per operand); measured on the
        // tiny model: losses ≤ 7e-4 relative apart, gradients ≤ 0.011 (relative L2). A q4 base's forward
        // is the inference path's in both, so only its backward changes.
        expect(Math.abs(bf16.loss - exact.loss) / exact.loss, what).toBeLessThan(2e-3);
        expect(relativeL2(bf16.grads, exact.grads), what).toBeLessThan(3e-2);
        expect(bf16.grads, what).not.toEqual(exact.grads); // the mode is on
        // Each product of two bf16 is exact on every path, but rounding to bf16 is discontinuous: the
        // float32-level differences between paths (~1e-6 here) flip a few roundings, and each flip moves
        // what follows by a bf16 step, so the paths agree within bf16's error, not bit for bit
        // (measured: gradients 0.005 apart, the float32 compute's 1.7e-6; losses 1e-4 relative).
        // A q4 base's forward multiplies on tiles where the path has them (AMX, from 64 tokens) against
        // activations rounded to bf16 where the others quantize them to int8: those paths' q4 gradients
        // differ by that in either compute (measured: 0.032 apart, losses 9e-4), and bf16 compute adds
        // no more than its own rounding to it.
        const forward = relativeL2(exact.grads, first[base].float32.grads);
        const forwardLoss = Math.abs(exact.loss - first[base].float32.loss) / exact.loss;
        expect(forward, what).toBeLessThan(base === "q4" ? 0.06 : 1e-5);
        expect(forwardLoss, what).toBeLessThan(base === "q4" ? 2e-3 : 1e-6);
        expect(relativeL2(bf16.grads, first[base].bf16.grads), what).toBeLessThan(2e-2 + forward);
        expect(Math.abs(bf16.loss - first[base].bf16.loss) / exact.loss, what).toBeLessThan(1e-3 + forwardLoss);
      }
    }
  });

  it("the loss falls (bf16 base and q4 base), and the default stays float32", async () => {
    for (const weights of ["bf16", "q4"] as const) {
      const engine = await Engine.load(DENSE_DIR, { threads: 2, weights });
      try {
        const trainer = await engine.createTrainer({
          lora,
          computeDtype: "bf16",
          optimizer: { lr: 5e-3, schedule: "constant" },
        });
        const first = (await trainer.step(rows)).loss;
        let last = first;
        for (let s = 0; s < 4; s++) last = (await trainer.step(rows)).loss;
        expect(last, weights).toBeLessThan(0.8 * first);
        const a = await engine.createTrainer({ lora, seed: 1 });
        const b = await engine.createTrainer({ lora, seed: 1, computeDtype: "float32" });
        expect((await a.computeGradients(rows)).loss).toBe((await b.computeGradients(rows)).loss);
      } finally {
        await engine.close();
      }
    }
  });

  it("a batch of 400 tokens (its products split across rows as well as columns) equals its micro-batches", async () => {
    // With the frozen weights' panels kept, a product of at least 192 rows runs in parts of its rows;
    // every token's products are the same sums either way, so the loss of the batch is its
    // micro-batches' (100 tokens each, one part) and the gradients differ only in the order they add.
    for (const weights of ["bf16", "q4"] as const) {
      const engine = await Engine.load(DENSE_DIR, { threads: 2, weights });
      try {
        const vocab = engine.config.hparams.vocabSize;
        let seed = 7;
        const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
        const batch = Array.from({ length: 4 }, () => ({
          inputIds: Array.from({ length: 100 }, () => next() % vocab),
        }));
        const whole = await engine.createTrainer({ lora, seed: 3, computeDtype: "bf16" });
        const parts = await engine.createTrainer({ lora, seed: 3, computeDtype: "bf16" });
        const a = await whole.step(batch);
        const b = await parts.step(batch, { microBatchSize: 1 });
        expect(Math.abs(a.loss - b.loss) / a.loss, weights).toBeLessThan(1e-6);
        const ga = await whole.gradients(),
          gb = await parts.gradients();
        const fa = [...ga.keys()].sort().flatMap((k) => Array.from(ga.get(k)!));
        const fb = [...gb.keys()].sort().flatMap((k) => Array.from(gb.get(k)!));
        expect(relativeL2(fa, fb), weights).toBeLessThan(1e-5);
      } finally {
        await engine.close();
      }
    }
  });
});
