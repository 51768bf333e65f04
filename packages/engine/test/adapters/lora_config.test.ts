import { readFileSync } from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { loraScaling, parseLoraConfig } from "../../src/internal.js";
import { LORA_DIR } from "../../../../test/helpers/fixtures.js";

const fixture = JSON.parse(readFileSync(path.join(LORA_DIR, "adapter_config.json"), "utf8")) as Record<string, unknown>;

describe("parseLoraConfig", () => {
  it("reads the fixture adapter as PEFT wrote it", () => {
    const c = parseLoraConfig(fixture);
    expect(c).toMatchObject({
      peft_type: "LORA",
      r: 8,
      lora_alpha: 16,
      use_rslora: false,
      rank_pattern: {},
      alpha_pattern: {},
      task_type: "CAUSAL_LM",
    });
    expect(c.target_modules).toEqual(["v_proj", "q_proj", "gate_proj", "down_proj"]);
    expect(c.layers_to_transform).toBeUndefined();
  });

  it("accepts target_parameters (peft's fused MoE experts) with or without target_modules", () => {
    const c = parseLoraConfig({ ...fixture, target_modules: [], target_parameters: ["gate_up_proj", "down_proj"] });
    expect(c.target_parameters).toEqual(["gate_up_proj", "down_proj"]);
    expect(parseLoraConfig(fixture).target_parameters).toEqual([]);
  });

  it("normalizes single values to lists", () => {
    const c = parseLoraConfig({ ...fixture, layers_to_transform: 2, layers_pattern: "layers", exclude_modules: "x" });
    expect(c.layers_to_transform).toEqual([2]);
    expect(c.layers_pattern).toEqual(["layers"]);
    expect(c.exclude_modules).toBe("x");
  });

  it.each([
    [{ peft_type: "IA3" }, /peft_type 'IA3' is not supported/],
    [{ use_dora: true }, /DoRA adapters are not supported/],
    [{ lora_bias: true }, /LoRA bias terms are not supported/],
    [{ bias: "all" }, /bias 'all' is not supported/],
    [{ modules_to_save: ["lm_head"] }, /modules_to_save/],
    [{ target_modules: [] }, /target_modules is empty/],
    [{ target_modules: null }, /target_modules is empty/],
    [{ r: 0 }, /'r'/],
    [{ lora_alpha: "16" }, /'lora_alpha'/],
  ])("rejects %j", (patch, message) => {
    expect(() => parseLoraConfig({ ...fixture, ...patch }, "x/adapter_config.json")).toThrow(message);
    try {
      parseLoraConfig({ ...fixture, ...patch });
    } catch (err) {
      expect((err as { code: string }).code).toBe("ERR_WENXIN_INVALID_CONFIG");
    }
  });
});

describe("loraScaling", () => {
  it("is alpha / r, or alpha / sqrt(r) with use_rslora", () => {
    expect(loraScaling(16, 8, false)).toBe(2);
    expect(loraScaling(16, 8, true)).toBeCloseTo(16 / Math.sqrt(8), 12);
    expect(loraScaling(32, 16, true)).toBe(8);
  });
});
