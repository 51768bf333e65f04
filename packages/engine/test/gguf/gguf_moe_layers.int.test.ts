// The MoE layer range survives GGUF conversion: a checkpoint whose moe_layer_end_index is below
// the last layer (and moe_layer_interval 2) converts and loads with the same layer kinds, through
// our `ernie4_5-moe.moe_layer_end_index` key, or, in a file without it, through the tensors present.
// Before, such a file converted and then failed to load (missing tensor 'blk.3.ffn_gate_inp.weight').
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine, convertToGguf } from "../../src/index.js";
import { prepareGgufConversion, readGgufFile, writeGguf } from "../../src/internal.js";
import { copyModelDir, rewriteCheckpoint } from "../../../../test/helpers/checkpoint.js";
import { MOE_DIR, loadGolden, maxAbsDiff } from "../../../../test/helpers/fixtures.js";

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

/**
 * The MoE fixture re-cut: start 1, end 2, interval 2, so layer 1 alone is MoE (layer 3 would be by
 * the interval, but lies past the end). Dense layers 2 and 3 take layer 0's MLP weights.
 */
function cutCheckpoint(): string {
  const dir = copyModelDir(MOE_DIR);
  temps.push(dir);
  const config = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
  Object.assign(config, { moe_layer_start_index: 1, moe_layer_end_index: 2, moe_layer_interval: 2 });
  writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
  rewriteCheckpoint(dir, (tensors) => {
    for (const l of [2, 3]) {
      for (const name of [...tensors.keys()]) if (name.startsWith(`model.layers.${l}.mlp.`)) tensors.delete(name);
      for (const proj of ["gate_proj", "up_proj", "down_proj"])
        tensors.set(`model.layers.${l}.mlp.${proj}.weight`, tensors.get(`model.layers.0.mlp.${proj}.weight`)!);
    }
  });
  return dir;
}

describe("GGUF: an MoE layer range that ends before the last layer", () => {
  const ids = loadGolden("tiny-ernie45-moe").json.prompts.chat!.input_ids;
  let dir: string;
  let expected: Float32Array;
  let out: string;
  beforeAll(async () => {
    dir = cutCheckpoint();
    out = mkdtempSync(path.join(os.tmpdir(), "wenxin-moe-range-"));
    temps.push(out);
    const engine = await Engine.load(dir, { threads: 2 });
    try {
      expect(engine.config.hparams).toMatchObject({ moeLayerEndIndex: 2, moeLayerInterval: 2 });
      expected = await engine.logits(ids);
    } finally {
      await engine.close();
    }
  });

  async function logitsOf(file: string): Promise<{ logits: Float32Array; end: number; interval: number }> {
    const engine = await Engine.load(file, { threads: 2 });
    try {
      const hp = engine.config.hparams;
      return { logits: await engine.logits(ids), end: hp.moeLayerEndIndex, interval: hp.moeLayerInterval };
    } finally {
      await engine.close();
    }
  }

  it("converts with the range in its metadata and loads with the same layer kinds", async () => {
    const file = path.join(out, "range.gguf");
    await convertToGguf(dir, { out: file, type: "f32" });
    expect(readGgufFile(file).metadata.get("ernie4_5-moe.moe_layer_end_index")).toBe(2);
    const got = await logitsOf(file);
    expect(got).toMatchObject({ end: 2, interval: 2 });
    expect(maxAbsDiff(got.logits, expected)).toBeLessThan(1e-4);
  });

  it("without the key (llama.cpp's converter), the layer kinds follow the tensors present", async () => {
    const file = path.join(out, "no-key.gguf");
    const { metadata, tensors } = await prepareGgufConversion(dir, "f32");
    delete metadata["ernie4_5-moe.moe_layer_end_index"];
    writeGguf(file, metadata, tensors);
    const got = await logitsOf(file);
    expect(got).toMatchObject({ end: 1, interval: 2 }); // the last router is layer 1's: the same kinds
    expect(maxAbsDiff(got.logits, expected)).toBeLessThan(1e-4);
  });
});
