// Quantized GGUF tensors: Q8_0 / Q4_0 blocks map onto the engine's own q8 / q4 (the same blocks give
// the same logits, bit for bit), whole Q8_0 / Q4_0 conversions stay within the quantization error of
// the engine's own formats, and K-quants (Q4_K, Q5_K, Q6_K) load as a reference dequantizer reads them.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { Engine } from "../../src/index.js";
import { prepareGgufConversion, writeGguf, type GgufRawTensor, type GgufTensor } from "../../src/internal.js";
import { DENSE_DIR, MOE_DIR, loadGolden, maxAbsDiff } from "../../../../test/helpers/fixtures.js";
import { KQUANT, encodeMatrix, type KQuantType } from "../../../../test/helpers/kquant_reference.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-gguf-q-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const MODELS = [
  { name: "tiny-ernie45-dense", dir: DENSE_DIR },
  { name: "tiny-ernie45-moe", dir: MOE_DIR },
] as const;
const FORMATS = [
  { ggufType: "q8_0", own: "q8" },
  { ggufType: "q4_0", own: "q4" },
] as const;

async function logitsOf(
  model: string,
  options: Parameters<typeof Engine.load>[1],
  ids: number[],
): Promise<Float32Array> {
  const engine = await Engine.load(model, { threads: 2, ...options });
  try {
    return await engine.logits(ids);
  } finally {
    await engine.close();
  }
}

describe.each(MODELS)("$name", ({ name, dir }) => {
  const golden = loadGolden(name);
  const ids = golden.json.prompts.chat!.input_ids;
  const reference = golden.tensors.get("chat.logits")!.data;

  describe.each(FORMATS)("$ggufType", ({ ggufType, own }) => {
    it(`holds the same blocks as the engine's own ${own} (bit-identical logits)`, async () => {
      // Embedding and head in F32, so that both engines quantize the head the same way at load
      // and read the embedding rows exactly; every other matrix comes from the GGUF blocks.
      const { metadata, tensors } = await prepareGgufConversion(dir, ggufType);
      const file = path.join(tmp, `${name}-${ggufType}-blocks.gguf`);
      const patched = tensors.map((t) =>
        t.name === "token_embd.weight" || t.name === "output.weight" ? { ...t, type: "F32" as const } : t,
      );
      expect(patched.filter((t) => t.type === (ggufType === "q8_0" ? "Q8_0" : "Q4_0")).length).toBeGreaterThan(10);
      writeGguf(file, metadata, patched);
      const [fromGguf, fromOwn] = [
        await logitsOf(file, { weights: own }, ids),
        await logitsOf(dir, { weights: own }, ids),
      ];
      expect(maxAbsDiff(fromGguf, fromOwn)).toBe(0);
    });

    it(`as a whole conversion, stays within the error of the engine's own ${own}`, async () => {
      const { metadata, tensors } = await prepareGgufConversion(dir, ggufType);
      const file = path.join(tmp, `${name}-${ggufType}.gguf`);
      writeGguf(file, metadata, tensors);
      const fromGguf = await logitsOf(file, {}, ids);
      const fromOwn = await logitsOf(dir, { weights: own }, ids);
      const ggufError = maxAbsDiff(fromGguf, reference);
      const ownError = maxAbsDiff(fromOwn, reference);
      console.log(
        `${name} ${ggufType}: max |Δ| vs golden ${ggufError.toFixed(4)} (own ${own}: ${ownError.toFixed(4)}), GGUF vs own ${maxAbsDiff(fromGguf, fromOwn).toFixed(4)}`,
      );
      // The embedding is quantized too (Q8_0), so not bit-identical; a wrong block layout would be far off.
      expect(ggufError).toBeLessThan(1.25 * ownError);
    });
  });
});

describe("K-quants", () => {
  const golden = loadGolden("tiny-ernie45-dense");
  const ids = golden.json.prompts.chat!.input_ids;
  // attn_output has 256 inputs, the one matrix of the tiny model with whole 256-value super-blocks.
  const LAYER_TYPES: KQuantType[] = ["Q4_K", "Q5_K", "Q6_K", "Q4_K"];

  it("load as the reference dequantizer reads them (then held as q8)", async () => {
    const { metadata, tensors } = await prepareGgufConversion(DENSE_DIR, "f32");
    const quantized: (GgufTensor | GgufRawTensor)[] = [];
    const dequantized: GgufTensor[] = [];
    for (const t of tensors) {
      const layer = /^blk\.(\d+)\.attn_output\.weight$/.exec(t.name);
      if (!layer) {
        quantized.push(t);
        dequantized.push(t);
        continue;
      }
      const type = LAYER_TYPES[Number(layer[1])]!;
      const { bytes, decoded } = encodeMatrix(type, t.values());
      expect(maxAbsDiff(decoded, t.values())).toBeLessThan(0.02); // the encoder is sane (weights ~ ±0.1)
      quantized.push({
        name: t.name,
        shape: t.shape,
        ggmlType: KQUANT[type].id,
        bytes: bytes.length,
        data: () => bytes,
      });
      dequantized.push({ ...t, values: () => decoded });
    }
    const kFile = path.join(tmp, "dense-kquants.gguf");
    const refFile = path.join(tmp, "dense-kquants-reference.gguf");
    writeGguf(kFile, metadata, quantized);
    writeGguf(refFile, metadata, dequantized);
    // K-quants are dequantized and re-quantized to q8 at load, exactly as a float matrix is for weights: "q8".
    const fromK = await logitsOf(kFile, { weights: "q8" }, ids);
    const fromRef = await logitsOf(refFile, { weights: "q8" }, ids);
    const d = maxAbsDiff(fromK, fromRef);
    console.log(`K-quant GGUF vs reference dequantization (both q8): max |Δ logits| = ${d}`);
    expect(d).toBeLessThanOrEqual(1e-6);
    // And close to the float model, as a 4-6 bit quantization of one matrix per layer should be.
    const fromFloat = await logitsOf(refFile, {}, ids);
    expect(maxAbsDiff(fromK, fromFloat)).toBeLessThan(0.5 * maxAbsDiff(fromFloat, new Float32Array(fromFloat.length)));
  });
});
