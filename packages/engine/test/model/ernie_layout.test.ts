// The ERNIE layout module (tensor_names.json read on the TypeScript side): Baidu's prefix, the head,
// the rows of fused exports, and GGUF conversion of a fused, prefixed export.
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { prepareGgufConversion } from "../../src/gguf/convert_to_gguf.js";
import { parseModelConfig } from "../../src/model/config.js";
import { canonicalTensorName, checkpointTensors, fusedExportRows, headTensor } from "../../src/model/ernie_layout.js";
import { copyModelDir, fusedRemoteCodeTensors, rewriteCheckpoint } from "../../../../test/helpers/checkpoint.js";
import { DENSE_DIR, MOE_DIR } from "../../../../test/helpers/fixtures.js";

const hparams = (dir: string) =>
  parseModelConfig(JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"))).hparams;
const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("ernie_layout", () => {
  it("spells Baidu's remote-code names as transformers does", () => {
    expect(canonicalTensorName("ernie.layers.0.self_attn.q_proj.weight")).toBe(
      "model.layers.0.self_attn.q_proj.weight",
    );
    expect(canonicalTensorName("ernie.norm.weight")).toBe("model.norm.weight");
    expect(canonicalTensorName("lm_head.weight")).toBe("lm_head.weight");
    expect(canonicalTensorName("model.norm.weight")).toBe("model.norm.weight");
  });

  it("lists the head even when the checkpoint ties it", () => {
    const hp = hparams(DENSE_DIR);
    expect(hp.tieWordEmbeddings).toBe(true);
    expect(headTensor(hp)).toEqual({ name: "lm_head.weight", shape: [hp.vocabSize, hp.hiddenSize], kind: "matrix" });
  });

  it("places each projection in the rows of its fused export", () => {
    const hp = hparams(MOE_DIR);
    const rows = fusedExportRows(checkpointTensors(hp));
    const q = hp.numAttentionHeads * hp.headDim,
      kv = hp.numKeyValueHeads * hp.headDim;
    const attn = "model.layers.1.self_attn";
    expect(rows.get(`${attn}.q_proj.weight`)).toEqual({ name: `${attn}.qkv_proj.weight`, row: 0 });
    expect(rows.get(`${attn}.k_proj.weight`)).toEqual({ name: `${attn}.qkv_proj.weight`, row: q });
    expect(rows.get(`${attn}.v_proj.weight`)).toEqual({ name: `${attn}.qkv_proj.weight`, row: q + kv });
    expect(rows.has(`${attn}.o_proj.weight`)).toBe(false);
    const dense = "model.layers.0.mlp";
    expect(rows.get(`${dense}.up_proj.weight`)).toEqual({
      name: `${dense}.up_gate_proj.weight`,
      row: hp.intermediateSize,
    });
    const expert = "model.layers.1.mlp.experts.7";
    expect(rows.get(`${expert}.gate_proj.weight`)).toEqual({ name: `${expert}.up_gate_proj.weight`, row: 0 });
    expect(rows.get(`${expert}.up_proj.weight`)).toEqual({
      name: `${expert}.up_gate_proj.weight`,
      row: hp.moeIntermediateSize,
    });
    const shared = "model.layers.1.mlp.shared_experts";
    expect(rows.get(`${shared}.up_proj.weight`)).toEqual({
      name: `${shared}.up_gate_proj.weight`,
      row: hp.moeIntermediateSize * hp.moeNumSharedExperts,
    });
    expect(rows.has(`${shared}.down_proj.weight`)).toBe(false);
  });

  it("converts a fused export with the ernie. prefix to the same GGUF tensors", async () => {
    const dir = copyModelDir(MOE_DIR);
    temps.push(dir);
    rewriteCheckpoint(dir, fusedRemoteCodeTensors);
    const [want, got] = await Promise.all([prepareGgufConversion(MOE_DIR, "f32"), prepareGgufConversion(dir, "f32")]);
    expect(got.tensors.map((t) => t.name)).toEqual(want.tensors.map((t) => t.name));
    const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    want.tensors.forEach((t, i) =>
      expect(bytes(got.tensors[i]!.values()).equals(bytes(t.values())), t.name).toBe(true),
    );
  });
});
