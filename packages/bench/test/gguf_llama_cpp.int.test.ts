// Cross-implementation check of our GGUF files: llama.cpp (node-llama-cpp 3.21.1) loads the F32 GGUF
// that `wenxin convert` writes for each tiny model and reproduces the golden log-probabilities at every
// prompt position and the golden greedy continuation, so the files are read the way llama.cpp reads
// them (names, innermost-first dims, stacked experts, RoPE layout, tokenizer). It also decodes
// K-quant blocks the way our reference dequantizer (and so our loader) does.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { Engine, convertToGguf } from "@wenxin/engine";
import { prepareGgufConversion, writeGguf, type GgufRawTensor, type GgufTensor } from "@wenxin/engine/internal";
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { encodeMatrix } from "../../../test/helpers/kquant_reference.js";
import { DENSE_DIR, MOE_DIR, loadGolden } from "../../../test/helpers/fixtures.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-gguf-llama-"));
let llama: Llama;
beforeAll(async () => {
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, build: "never" });
}, 120_000);
afterAll(async () => {
  await llama?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** llama.cpp's log-probabilities after each of `ids` (F32 KV cache, as the fixture README prescribes). */
async function llamaLogProbs(model: LlamaModel, ids: number[]): Promise<Map<Token, number>[]> {
  const context = await model.createContext({
    contextSize: 256,
    batchSize: 256,
    threads: 2,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
    flashAttention: false,
  });
  try {
    const seq = context.getSequence();
    // The plain softmax: no top-k / top-p / min-p truncation, temperature 1.
    const options = { temperature: 1, topK: 0, topP: 1, minP: 0 };
    const out = await seq.controlledEvaluate(
      ids.map((id) => [id as Token, { generateNext: { probabilities: true, options } }]),
    );
    return out.map((o) => o!.next.probabilities!);
  } finally {
    await context.dispose();
  }
}

function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (v) => v - lse);
}

/** max |Δ log p| over the tokens llama.cpp gives a probability above 1e-4, at every position. */
function maxLogProbDiff(
  probs: Map<Token, number>[],
  logits: Float32Array,
  vocab: number,
): { diff: number; top1Agree: number } {
  let diff = 0,
    agree = 0;
  probs.forEach((p, t) => {
    const ref = logSoftmax(logits.subarray(t * vocab, (t + 1) * vocab));
    let best = 0;
    for (let i = 1; i < vocab; i++) if (ref[i]! > ref[best]!) best = i;
    if ([...p.keys()][0] === best) agree++;
    for (const [token, prob] of p) if (prob > 1e-4) diff = Math.max(diff, Math.abs(Math.log(prob) - ref[token]!));
  });
  return { diff, top1Agree: agree / probs.length };
}

describe.each([
  { name: "tiny-ernie45-dense" as const, dir: DENSE_DIR },
  { name: "tiny-ernie45-moe" as const, dir: MOE_DIR },
])("node-llama-cpp reads our F32 GGUF of $name", ({ name, dir }) => {
  const golden = loadGolden(name);
  let model: LlamaModel;
  beforeAll(async () => {
    const file = path.join(tmp, `${name}.gguf`);
    await convertToGguf(dir, { out: file, type: "f32" });
    model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  }, 60_000);
  afterAll(() => model?.dispose());

  it.each(["plain", "chat"])("and gives the golden log-probabilities for the %s prompt", async (p) => {
    const prompt = golden.json.prompts[p]!;
    const probs = await llamaLogProbs(model, prompt.input_ids);
    const { diff, top1Agree } = maxLogProbDiff(probs, golden.tensors.get(`${p}.logits`)!.data, 8000);
    console.log(
      `${name} ${p}: llama.cpp vs golden max |Δ log p| = ${diff.toExponential(2)}, top-1 agreement ${top1Agree}`,
    );
    expect(top1Agree).toBe(1);
    expect(diff).toBeLessThan(2e-4); // the fixture README measured 7e-5
  });

  it("and generates the golden greedy continuation (teacher-forced)", async () => {
    const prompt = golden.json.prompts.plain!;
    const probs = await llamaLogProbs(model, [...prompt.input_ids, ...prompt.greedy_new_ids.slice(0, -1)]);
    const predicted = probs.slice(prompt.input_ids.length - 1).map((p) => [...p.keys()][0]);
    expect(predicted).toEqual(prompt.greedy_new_ids);
  });

  it("and tokenizes text the way our tokenizer does", async () => {
    const text = "User: 你好，世界! 123 tokens\n<|end_of_sentence|>Assistant: ok";
    const engineTokens = await Engine.load(path.join(tmp, `${name}.gguf`), { threads: 1 }).then(async (e) => {
      const ids = e.tokenizer.encode(text);
      await e.close();
      return ids;
    });
    expect(model.tokenize(text, true).map(Number)).toEqual(engineTokens);
  });
});

describe("node-llama-cpp reads K-quant blocks as our reference dequantizer does", () => {
  const ids = loadGolden("tiny-ernie45-dense").json.prompts.chat!.input_ids;
  let base: Awaited<ReturnType<typeof prepareGgufConversion>>;
  let original: Float32Array;
  beforeAll(async () => {
    base = await prepareGgufConversion(DENSE_DIR, "f32");
    original = await engineLogits(DENSE_DIR, ids);
  });

  // attn_output (256 inputs) is the tiny model's one matrix made of whole 256-value super-blocks.
  it.each([
    ["Q4_K", 12],
    ["Q5_K", 13],
    ["Q6_K", 14],
  ] as const)(
    "%s",
    async (type, id) => {
      const quantized: (GgufTensor | GgufRawTensor)[] = [];
      const dequantized: GgufTensor[] = [];
      for (const t of base.tensors) {
        if (!/^blk\.\d+\.attn_output\.weight$/.test(t.name)) {
          quantized.push(t);
          dequantized.push(t);
          continue;
        }
        const { bytes, decoded } = encodeMatrix(type, t.values());
        quantized.push({ name: t.name, shape: t.shape, ggmlType: id, bytes: bytes.length, data: () => bytes });
        dequantized.push({ ...t, values: () => decoded });
      }
      const kFile = path.join(tmp, `${type}.gguf`),
        refFile = path.join(tmp, `${type}-dequantized.gguf`);
      writeGguf(kFile, base.metadata, quantized);
      writeGguf(refFile, base.metadata, dequantized);
      // llama.cpp runs its own K-quant kernels (activations quantized to Q8_K, hence some noise);
      // if it decodes the blocks as our reference does, it lands far closer to the reference's
      // float logits than to the unquantized model's.
      const model = await llama.loadModel({ modelPath: kFile, gpuLayers: 0 });
      try {
        const probs = await llamaLogProbs(model, ids);
        const toReference = maxLogProbDiff(probs, await engineLogits(refFile, ids), 8000).diff;
        const toOriginal = maxLogProbDiff(probs, original, 8000).diff;
        console.log(
          `${type}: llama.cpp vs our reference dequantization max |Δ log p| = ${toReference.toFixed(3)}, vs the unquantized model ${toOriginal.toFixed(3)}`,
        );
        expect(toReference).toBeLessThan(0.5 * toOriginal);
        expect(toReference).toBeLessThan(0.35);
      } finally {
        await model.dispose();
      }
    },
    60_000,
  );
});

async function engineLogits(model: string, ids: number[]): Promise<Float32Array> {
  const engine = await Engine.load(model, { threads: 2 });
  try {
    return await engine.logits(ids);
  } finally {
    await engine.close();
  }
}
