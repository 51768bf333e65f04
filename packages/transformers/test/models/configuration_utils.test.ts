import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { AutoConfig, Ernie4_5Config, Ernie4_5_MoeConfig, GenerationConfig, PretrainedConfig } from "../../src/index.js";
import { DENSE_DIR, MOE_DIR } from "../../../../test/helpers/fixtures.js";

describe("AutoConfig", () => {
  it("returns the config class of the checkpoint's model type, with config.json's keys", async () => {
    const dense = await AutoConfig.from_pretrained(DENSE_DIR);
    expect(dense).toBeInstanceOf(Ernie4_5Config);
    expect(dense.model_type).toBe("ernie4_5");
    expect([dense.hidden_size, dense.num_hidden_layers, dense.head_dim, dense.vocab_size]).toEqual([128, 4, 32, 8000]);
    expect(dense.engineConfig.hparams.numKeyValueHeads).toBe(2);
    const moe = await AutoConfig.from_pretrained(MOE_DIR);
    expect(moe).toBeInstanceOf(Ernie4_5_MoeConfig);
    expect(moe.to_dict().moe_num_shared_experts).toBe(2);
    expect(moe.name_or_path).toBe(MOE_DIR);
  });

  it("a concrete config class rejects the other model type", async () => {
    await expect(Ernie4_5Config.from_pretrained(MOE_DIR)).rejects.toMatchObject({
      code: "ERR_WENXIN_UNKNOWN_ARCHITECTURE",
    });
    expect(await Ernie4_5_MoeConfig.from_pretrained(MOE_DIR)).toBeInstanceOf(Ernie4_5_MoeConfig);
    expect(await PretrainedConfig.from_pretrained(DENSE_DIR)).toBeInstanceOf(PretrainedConfig);
  });

  it("rejects configs the engine cannot run with the engine's error", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "wenxin-cfg-"));
    try {
      writeFileSync(
        path.join(dir, "config.json"),
        JSON.stringify({
          architectures: ["LlamaForCausalLM"],
          model_type: "llama",
          hidden_size: 8,
          intermediate_size: 8,
          num_hidden_layers: 1,
          num_attention_heads: 1,
          vocab_size: 8,
        }),
      );
      await expect(AutoConfig.from_pretrained(dir)).rejects.toMatchObject({ code: "ERR_WENXIN_UNKNOWN_ARCHITECTURE" });
      writeFileSync(path.join(dir, "config.json"), "{ not json");
      await expect(AutoConfig.from_pretrained(dir)).rejects.toMatchObject({ code: "ERR_WENXIN_INVALID_FILE" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("validates from_pretrained options", async () => {
    await expect(AutoConfig.from_pretrained(DENSE_DIR, { dtype: "fp64" })).rejects.toMatchObject({
      code: "ERR_WENXIN_UNSUPPORTED_DTYPE",
    });
    await expect(AutoConfig.from_pretrained(DENSE_DIR, { revison: "main" } as never)).rejects.toThrow(
      /unknown option\(s\) 'revison'/,
    );
    expect(await AutoConfig.from_pretrained(DENSE_DIR, { dtype: "fp32", device: "cpu" })).toBeInstanceOf(
      Ernie4_5Config,
    );
  });
});

describe("GenerationConfig", () => {
  it("reads generation_config.json over transformers' defaults", async () => {
    const gc = await GenerationConfig.from_pretrained(DENSE_DIR);
    expect(gc).toMatchObject({
      do_sample: true,
      temperature: 0.8,
      top_p: 0.8,
      eos_token_id: 2,
      top_k: 50,
      max_length: 20,
      max_new_tokens: null,
      min_p: null,
    });
    expect(gc.frequency_penalty).toBe(0); // keys we do not use are kept
  });

  it("has transformers' defaults, and derives token ids from config.json when the file is absent", async () => {
    expect(new GenerationConfig().to_dict()).toMatchObject({
      do_sample: false,
      temperature: 1,
      top_k: 50,
      top_p: 1,
      repetition_penalty: 1,
      max_length: 20,
    });
    const dir = mkdtempSync(path.join(os.tmpdir(), "wenxin-gc-"));
    try {
      cpSync(path.join(DENSE_DIR, "config.json"), path.join(dir, "config.json"));
      expect(await GenerationConfig.fromDirectory(dir)).toBeUndefined();
      expect(await GenerationConfig.from_pretrained(dir)).toMatchObject({ do_sample: false, eos_token_id: null });
      const fromModel = GenerationConfig.from_model_config(await AutoConfig.from_pretrained(dir));
      expect(fromModel).toMatchObject({ eos_token_id: 2, bos_token_id: 1, pad_token_id: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
