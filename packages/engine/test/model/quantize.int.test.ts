// quantizeModel(): a saved quantized checkpoint reloads (memory-mapped) to exactly the logits of
// quantizing at load; damaged quantized tensors are named in the error.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { Engine, quantizeModel } from "../../src/index.js";
import { readRawSafetensors, writeSafetensors } from "../../../../test/helpers/checkpoint.js";
import { DENSE_DIR, loadGolden, MOE_DIR } from "../../../../test/helpers/fixtures.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-quantize-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each([
  ["dense", DENSE_DIR, "tiny-ernie45-dense"],
  ["moe", MOE_DIR, "tiny-ernie45-moe"],
] as const)("%s", (name, dir, model) => {
  it.each(["q8", "q4", "fp8"] as const)("%s: saved and reloaded equals quantized at load", async (weights) => {
    const out = path.join(tmp, `${name}-${weights}`);
    await quantizeModel(dir, out, { weights, threads: 2 });
    const ids = loadGolden(model).json.prompts.chat!.input_ids;
    const atLoad = await Engine.load(dir, { weights, threads: 2 });
    const saved = await Engine.load(out, { threads: 2 });
    try {
      expect(Array.from(await saved.logits(ids))).toEqual(Array.from(await atLoad.logits(ids)));
      expect(saved.tokenizer.encode("文心")).toEqual(atLoad.tokenizer.encode("文心"));
    } finally {
      await atLoad.close();
      await saved.close();
    }
    const tensors = readRawSafetensors(path.join(out, "model.safetensors"));
    expect(tensors.get("model.layers.0.self_attn.q_proj.qweight")?.dtype).toBe("U8");
    expect(tensors.has("model.layers.0.self_attn.q_proj.weight")).toBe(false);
  });
});

describe("errors", () => {
  it("names a quantized tensor whose scales are missing", async () => {
    const out = path.join(tmp, "broken");
    await quantizeModel(DENSE_DIR, out, { weights: "q4" });
    const file = path.join(out, "model.safetensors");
    const t = readRawSafetensors(file);
    t.delete("model.layers.2.mlp.up_proj.qscale");
    writeSafetensors(file, t);
    await expect(Engine.load(out)).rejects.toMatchObject({
      code: "ERR_WENXIN_MISSING_TENSOR",
      message: expect.stringContaining("model.layers.2.mlp.up_proj.qscale"),
    });
  });

  it("refuses bf16 as a quantization target and an output equal to the source", async () => {
    await expect(quantizeModel(DENSE_DIR, path.join(tmp, "x"), { weights: "bf16" as never })).rejects.toMatchObject({
      code: "ERR_WENXIN_INVALID_ARGUMENT",
    });
    await expect(quantizeModel(DENSE_DIR, DENSE_DIR, { weights: "q8" })).rejects.toMatchObject({
      code: "ERR_WENXIN_INVALID_ARGUMENT",
    });
  });
});
