// The arm64 end-to-end checks, run by Node 20 for arm64 under qemu-user with the cross-built addon
// (test/arm64/run.sh sets WENXIN_NATIVE_PATH and WENXIN_ISA). Plain JavaScript on node:test: the
// repository's vitest cannot start under an emulated Node (its bundler is an x64 binary), so this
// reads the same fixtures and goldens with the same tolerances as the vitest suites:
//   goldens.mjs full   the golden logits of both tiny models, one streamed generate, an F32 GGUF load,
//                      the LoRA golden and a training step against the finetune golden, on the best
//                      path the CPU offers;
//   goldens.mjs isa    the path WENXIN_ISA names: float goldens; q8/q4/fp8 against the generic path's
//                      results (written by `isa` under WENXIN_ISA=generic to $WENXIN_ARM64_REF).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { Engine, convertToGguf, systemInfo } from "../../packages/engine/dist/index.js";
import {
  decodeTensorF32,
  parseSafetensorsBuffer,
  readSafetensorsHeaderSync,
} from "../../packages/engine/dist/internal.js";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/ernie45");
const DENSE_DIR = path.join(FIXTURES, "tiny-ernie45-dense");
const MOE_DIR = path.join(FIXTURES, "tiny-ernie45-moe");
const LORA_DIR = path.join(FIXTURES, "tiny-ernie45-dense-lora");
const LOGIT_TOL = 1e-3;

function readSafetensors(file) {
  const { header, bytes } = parseSafetensorsBuffer(file, readFileSync(file));
  return new Map([...header.tensors.values()].map((t) => [t.name, decodeTensorF32(file, t, bytes(t))]));
}

function loadGolden(model) {
  const dir = path.join(FIXTURES, "golden", model);
  return {
    prompts: JSON.parse(readFileSync(path.join(dir, "golden.json"), "utf8")).prompts,
    tensors: readSafetensors(path.join(dir, "golden.safetensors")),
  };
}

function maxAbsDiff(a, b, aOffset = 0, bOffset = 0, n = b.length) {
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(a[aOffset + i] - b[bOffset + i]));
  return m;
}

// ‖a − b‖ / ‖b‖ (test/helpers/fixtures.ts's relativeL2).
function relativeL2(a, b) {
  let d = 0;
  let n = 0;
  b.forEach((x, i) => {
    d += (a[i] - x) ** 2;
    n += x ** 2;
  });
  return Math.sqrt(d / n);
}

// The logits of a golden prompt against the golden (full, or at the positions it keeps).
function checkLogits(logits, golden, name, vocab) {
  const full = golden.tensors.get(`${name}.logits`);
  if (full) {
    assert.ok(maxAbsDiff(logits, full) < LOGIT_TOL, `${name}: ${maxAbsDiff(logits, full)}`);
    return;
  }
  const at = golden.tensors.get(`${name}.logits_at`);
  golden.prompts[name].logits_positions.forEach((pos, j) => {
    const d = maxAbsDiff(logits, at, pos * vocab, j * vocab, vocab);
    assert.ok(d < LOGIT_TOL, `${name} at ${pos}: ${d}`);
  });
}

// The fixture adapter as engine.loadAdapter takes it (test/helpers/lora.ts).
function fixtureAdapter() {
  const config = JSON.parse(readFileSync(path.join(LORA_DIR, "adapter_config.json"), "utf8"));
  const file = path.join(LORA_DIR, "adapter_model.safetensors");
  const { tensors } = readSafetensorsHeaderSync(file);
  const ref = (name) => ({
    file,
    dtype: tensors.get(name).dtype,
    shape: tensors.get(name).shape,
    byteOffset: tensors.get(name).begin,
    byteLength: tensors.get(name).end - tensors.get(name).begin,
  });
  const modules = [...tensors.keys()]
    .filter((k) => k.endsWith(".lora_A.weight"))
    .map((k) => ({
      module: k.replace(/^base_model\.model\./, "").replace(/\.lora_A\.weight$/, ""),
      scaling: config.lora_alpha / config.r,
      loraA: ref(k),
      loraB: ref(k.replace("lora_A", "lora_B")),
    }));
  return { config: { modules } };
}

const mode = process.argv[2] ?? "full";
const kernels = systemInfo().kernels;
console.log(`# arm64 ${mode}: kernels ${kernels.active} (supported: ${kernels.supported.join(" ")})`);

if (mode === "full") {
  for (const [model, dir] of [
    ["tiny-ernie45-dense", DENSE_DIR],
    ["tiny-ernie45-moe", MOE_DIR],
  ]) {
    test(`${model}: golden logits of every prompt`, async () => {
      const golden = loadGolden(model);
      const engine = await Engine.load(dir, { threads: 2, maxContext: 1024 });
      try {
        const vocab = engine.config.hparams.vocabSize;
        for (const name of ["plain", "chat", "multi", "long"])
          checkLogits(await engine.logits(golden.prompts[name].input_ids), golden, name, vocab);
        // Free-running greedy generation equals the golden where its margin allows.
        const p = golden.prompts.plain;
        const r = await engine
          .generate({ inputIds: p.input_ids, maxNewTokens: p.greedy_new_ids.length, temperature: 0, stopTokenIds: [] })
          .result();
        if (p.min_top2_margin > 2 * LOGIT_TOL) assert.deepEqual(r.tokenIds, p.greedy_new_ids);
      } finally {
        await engine.close();
      }
    });
  }

  test("a streamed generate: token events add up to the golden greedy result", async () => {
    const golden = loadGolden("tiny-ernie45-dense").prompts;
    const engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512 });
    try {
      const events = [];
      for await (const ev of engine.generate({
        inputIds: golden.chat.input_ids,
        maxNewTokens: 20,
        temperature: 0,
        stopTokenIds: [],
      }))
        events.push(ev);
      const done = events.at(-1);
      assert.equal(done.type, "done");
      const tokens = events.filter((e) => e.type === "token");
      assert.ok(tokens.length > 1, "streamed, not all at once");
      assert.deepEqual(
        tokens.flatMap((e) => e.tokenIds),
        done.tokenIds,
      );
      assert.equal(tokens.map((e) => e.text).join(""), done.text);
      assert.deepEqual(done.tokenIds, golden.chat.greedy_new_ids.slice(0, 20));
    } finally {
      await engine.close();
    }
  });

  test("an F32 GGUF of the dense model loads and gives the golden logits", async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-arm64-gguf-"));
    try {
      const file = path.join(tmp, "dense.gguf");
      await convertToGguf(DENSE_DIR, { out: file, type: "f32" });
      const golden = loadGolden("tiny-ernie45-dense");
      const engine = await Engine.load(file, { threads: 2, maxContext: 1024 });
      try {
        const vocab = engine.config.hparams.vocabSize;
        for (const name of ["chat", "long"])
          checkLogits(await engine.logits(golden.prompts[name].input_ids), golden, name, vocab);
      } finally {
        await engine.close();
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test("the LoRA golden: the adapter applies to the requests that name it", async () => {
    const lora = loadGolden("tiny-ernie45-dense-lora");
    const base = loadGolden("tiny-ernie45-dense");
    const engine = await Engine.load(DENSE_DIR, { threads: 2 });
    try {
      await engine.loadAdapter("fixture", fixtureAdapter());
      const ids = lora.prompts.chat.input_ids;
      const withAdapter = await engine.logits(ids, { adapter: "fixture" });
      assert.ok(maxAbsDiff(withAdapter, lora.tensors.get("chat.logits")) < LOGIT_TOL);
      assert.ok(maxAbsDiff(await engine.logits(ids), base.tensors.get("chat.logits")) < LOGIT_TOL);
      const r = await engine
        .generate({ inputIds: lora.prompts.plain.input_ids, maxNewTokens: 8, temperature: 0, adapter: "fixture" })
        .result();
      assert.deepEqual(r.tokenIds, lora.prompts.plain.greedy_new_ids.slice(0, 8));
    } finally {
      await engine.close();
    }
  });

  // Training through the path's panel products (kernels/arm/panel_gemm.cpp): step 0 of the dense-qv
  // finetune golden (PyTorch + peft), as packages/engine/test/training/finetune_goldens.int.test.ts holds
  // it, then bf16 compute within bf16's rounding of it (compute_bf16.int.test.ts's bounds).
  test("the finetune golden dense-qv: step-0 loss and gradients, float32 and bf16 compute", async () => {
    const dir = path.join(FIXTURES, "finetune", "dense-qv");
    const g = JSON.parse(readFileSync(path.join(dir, "golden.json"), "utf8"));
    const batch = { inputIds: g.batch.input_ids, attentionMask: g.batch.attention_mask, labels: g.batch.labels };
    const expected = readSafetensors(path.join(dir, "grads-step0.safetensors"));
    const names = [...expected.keys()].sort();
    const engine = await Engine.load(path.join(FIXTURES, g.base_model), { threads: 2 });
    try {
      const step = async (computeDtype) => {
        const trainer = await engine.createTrainer({ lora: { from: path.join(dir, "adapter-initial") }, computeDtype });
        const { loss } = await trainer.computeGradients(batch);
        const grads = await trainer.gradients();
        assert.deepEqual([...grads.keys()].sort(), names);
        return { loss, grads };
      };
      const exact = await step("float32");
      assert.ok(Math.abs(exact.loss - g.losses[0]) / g.losses[0] < 1e-4, `loss ${exact.loss}, golden ${g.losses[0]}`);
      for (const name of names) {
        const want = expected.get(name);
        const got = exact.grads.get(name);
        let largest = 0;
        let worst = 0;
        want.forEach((w, i) => {
          largest = Math.max(largest, Math.abs(w));
          worst = Math.max(worst, Math.abs(w - got[i]));
        });
        assert.ok(worst / largest < 1e-3, `${name}: ${worst / largest}`);
      }
      const bf16 = await step("bf16");
      assert.ok(Math.abs(bf16.loss - exact.loss) / exact.loss < 2e-3, `bf16 loss ${bf16.loss}, float32 ${exact.loss}`);
      const flat = (grads) => names.flatMap((name) => Array.from(grads.get(name)));
      const rel = relativeL2(flat(bf16.grads), flat(exact.grads));
      assert.ok(rel < 3e-2, `bf16 gradients: ${rel} relative L2`);
      assert.ok(rel > 0, "bf16 compute is on");
    } finally {
      await engine.close();
    }
  });
} else if (mode === "isa") {
  const isa = process.env.WENXIN_ISA;
  const refFile = process.env.WENXIN_ARM64_REF;
  test(`WENXIN_ISA=${isa} reaches that path: float goldens, q8/q4/fp8 against the generic path`, async () => {
    assert.equal(kernels.active, isa);
    const golden = loadGolden("tiny-ernie45-dense");
    const ids = golden.prompts.chat.input_ids;
    const float = await Engine.load(DENSE_DIR, { threads: 2 });
    try {
      checkLogits(await float.logits(ids), golden, "chat", float.config.hparams.vocabSize);
    } finally {
      await float.close();
    }
    // q8/q4 quantize the activations too, so a last-bit difference upstream can flip a rounding and
    // spread: the paths are held to their quantization error against the float golden instead, at
    // most 1.25 × the generic path's (as the GGUF K-quant test holds its error to ours). fp8 keeps the
    // activations in float: it matches the generic path's logits.
    const chat = golden.tensors.get("chat.logits");
    const result = { fp8: null, error: {} };
    for (const weights of ["q8", "q4", "fp8"]) {
      const engine = await Engine.load(DENSE_DIR, { threads: 2, weights });
      try {
        const logits = await engine.logits(ids);
        result.error[weights] = maxAbsDiff(logits, chat);
        if (weights === "fp8") result.fp8 = Array.from(logits);
      } finally {
        await engine.close();
      }
    }
    console.log(`# ${isa}: max |logit - float golden|: ${JSON.stringify(result.error)}`);
    if (isa === "generic") {
      writeFileSync(refFile, JSON.stringify(result));
      return;
    }
    assert.ok(existsSync(refFile), "the generic path's results are written first");
    const ref = JSON.parse(readFileSync(refFile, "utf8"));
    for (const weights of ["q8", "q4"])
      assert.ok(
        result.error[weights] <= 1.25 * ref.error[weights],
        `${weights} on ${isa}: ${result.error[weights]}, generic ${ref.error[weights]}`,
      );
    const d = maxAbsDiff(result.fp8, ref.fp8);
    assert.ok(d < LOGIT_TOL, `fp8 on ${isa} vs generic: ${d}`);
  });
}
