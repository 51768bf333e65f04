// config.json → hyper-parameters, in every form transformers and Baidu have written it.
import { readFileSync } from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { parseModelConfig } from "../../src/model/config.js";
import { DENSE_DIR, MOE_DIR } from "../../../../test/helpers/fixtures.js";

const dense = JSON.parse(readFileSync(path.join(DENSE_DIR, "config.json"), "utf8"));
const moe = JSON.parse(readFileSync(path.join(MOE_DIR, "config.json"), "utf8"));

describe("parseModelConfig", () => {
  it("reads the dense config, with explicit head_dim and top-level rope_theta", () => {
    const c = parseModelConfig(dense);
    expect(c.architecture).toBe("Ernie4_5ForCausalLM");
    expect(c.hparams).toMatchObject({
      modelType: "ernie4_5",
      hiddenSize: 128,
      headDim: 32,
      numAttentionHeads: 8,
      numKeyValueHeads: 2,
      ropeTheta: 500000,
      tieWordEmbeddings: true,
      moeNumExperts: 0,
    });
    expect(c.eosTokenIds).toEqual([2]);
  });

  it("reads the MoE config: head_dim derived, every moe_* key", () => {
    const c = parseModelConfig(moe);
    expect(c.hparams).toMatchObject({
      modelType: "ernie4_5_moe",
      headDim: 32,
      tieWordEmbeddings: false,
      moeNumExperts: 8,
      moeK: 3,
      moeIntermediateSize: 96,
      moeNumSharedExperts: 2,
      moeLayerStartIndex: 1,
      moeLayerEndIndex: -1,
      moeLayerInterval: 1,
      moeNormMin: 1e-12,
    });
  });

  it("accepts transformers 5.x rope_parameters", () => {
    const { rope_theta: _, ...rest } = dense;
    const c = parseModelConfig({ ...rest, rope_parameters: { rope_type: "default", rope_theta: 10000 } });
    expect(c.hparams.ropeTheta).toBe(10000);
  });

  it("defaults rope theta to 500000 when absent", () => {
    const { rope_theta: _, ...rest } = dense;
    expect(parseModelConfig(rest).hparams.ropeTheta).toBe(500000);
  });

  it("reads start/end indices given as lists, and the end index", () => {
    const c = parseModelConfig({
      ...moe,
      moe_layer_start_index: [2, 2],
      moe_layer_end_index: [3, 3],
      moe_layer_interval: 1,
    });
    expect(c.hparams).toMatchObject({ moeLayerStartIndex: 2, moeLayerEndIndex: 3 });
  });

  it("accepts Baidu's remote-code class name", () => {
    expect(parseModelConfig({ ...dense, architectures: ["Ernie4_5_ForCausalLM"] }).hparams.modelType).toBe("ernie4_5");
  });

  it("takes eos ids given as a list", () => {
    expect(parseModelConfig({ ...dense, eos_token_id: [2, 4] }).eosTokenIds).toEqual([2, 4]);
  });

  it.each([
    [{ hidden_size: "128" }, "ERR_WENXIN_INVALID_CONFIG", "hidden_size"],
    [{ num_hidden_layers: 0 }, "ERR_WENXIN_INVALID_CONFIG", "num_hidden_layers"],
    [{ hidden_act: "gelu" }, "ERR_WENXIN_INVALID_CONFIG", "gelu"],
    [{ rope_scaling: { type: "yarn", factor: 4 } }, "ERR_WENXIN_INVALID_CONFIG", "RoPE scaling"],
    [
      { architectures: ["Qwen2ForCausalLM"], model_type: "qwen2" },
      "ERR_WENXIN_UNKNOWN_ARCHITECTURE",
      "Qwen2ForCausalLM",
    ],
  ])("rejects %j with %s", (patch, code, word) => {
    expect(() => parseModelConfig({ ...dense, ...patch })).toThrow(
      expect.objectContaining({ code, message: expect.stringContaining(word) }),
    );
  });
});
