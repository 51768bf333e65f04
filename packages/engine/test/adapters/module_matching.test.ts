import { describe, expect, it } from "vitest";

import { type LoraConfig } from "../../src/index.js";
import { parseLoraConfig } from "../../src/internal.js";
import { patternValue, selectsModule, unmatchedTargets } from "../../src/adapters/module_matching.js";

const config = (patch: Record<string, unknown>): LoraConfig =>
  parseLoraConfig({ peft_type: "LORA", r: 8, lora_alpha: 16, target_modules: ["q_proj"], ...patch });
const Q0 = "model.layers.0.self_attn.q_proj";
const Q3 = "model.layers.3.self_attn.q_proj";
const K0 = "model.layers.0.self_attn.k_proj";

describe("selectsModule", () => {
  it("a list entry matches the last name parts or the whole name", () => {
    expect(selectsModule(config({}), Q0)).toBe(true);
    expect(selectsModule(config({}), K0)).toBe(false);
    expect(selectsModule(config({ target_modules: ["self_attn.q_proj"] }), Q0)).toBe(true);
    expect(selectsModule(config({ target_modules: [Q0] }), Q0)).toBe(true);
    expect(selectsModule(config({ target_modules: ["proj"] }), Q0)).toBe(false); // not a suffix at a dot
  });

  it("a string is a regex that must match the whole module name", () => {
    const c = config({ target_modules: ".*\\.(q|k)_proj" });
    expect([selectsModule(c, Q0), selectsModule(c, K0), selectsModule(c, "model.layers.0.mlp.up_proj")]).toEqual([
      true,
      true,
      false,
    ]);
    expect(selectsModule(config({ target_modules: "q_proj" }), Q0)).toBe(false);
    expect(selectsModule(config({ target_modules: "model\\.layers\\.(?P<n>\\d+)\\.self_attn\\.q_proj" }), Q3)).toBe(
      true,
    ); // Python named group
  });

  it('"all-linear" selects every linear layer but the output head', () => {
    const c = config({ target_modules: "all-linear" });
    expect(selectsModule(c, K0)).toBe(true);
    expect(selectsModule(c, "lm_head", true)).toBe(false);
  });

  it("exclude_modules wins over target_modules", () => {
    expect(selectsModule(config({ target_modules: ["q_proj", "k_proj"], exclude_modules: ["k_proj"] }), K0)).toBe(
      false,
    );
    expect(selectsModule(config({ target_modules: "all-linear", exclude_modules: ".*layers\\.0\\..*" }), Q0)).toBe(
      false,
    );
    expect(selectsModule(config({ target_modules: "all-linear", exclude_modules: ".*layers\\.0\\..*" }), Q3)).toBe(
      true,
    );
  });

  it("layers_to_transform keeps only the listed layers, with or without layers_pattern", () => {
    expect([
      selectsModule(config({ layers_to_transform: [3] }), Q0),
      selectsModule(config({ layers_to_transform: [3] }), Q3),
    ]).toEqual([false, true]);
    const c = config({ layers_to_transform: [0], layers_pattern: "layers" });
    expect([selectsModule(c, Q0), selectsModule(c, Q3)]).toEqual([true, false]);
  });

  it("an invalid regex is ERR_WENXIN_INVALID_CONFIG", () => {
    expect(() => selectsModule(config({ target_modules: "(q_proj" }), Q0)).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_INVALID_CONFIG" }),
    );
  });
});

describe("patternValue (rank_pattern / alpha_pattern)", () => {
  it("matches a key as the end of the module name at a dot; the first matching key wins", () => {
    expect(patternValue({ q_proj: 4 }, Q0, "rank_pattern")).toBe(4);
    expect(patternValue({ "layers.3.self_attn.q_proj": 2, q_proj: 4 }, Q3, "rank_pattern")).toBe(2);
    expect(patternValue({ q_proj: 4, "layers.3.self_attn.q_proj": 2 }, Q3, "rank_pattern")).toBe(4);
    expect(patternValue({ "layers\\.[0-1]\\.self_attn\\.q_proj": 16 }, Q0, "rank_pattern")).toBe(16);
    expect(patternValue({ "layers\\.[0-1]\\.self_attn\\.q_proj": 16 }, Q3, "rank_pattern")).toBeUndefined();
    expect(patternValue({ proj: 1 }, Q0, "rank_pattern")).toBeUndefined();
  });
});

describe("unmatchedTargets", () => {
  it("names the list entries (or the regex) that select nothing", () => {
    expect(unmatchedTargets(config({ target_modules: ["q_proj", "c_attn"] }), [Q0, K0])).toEqual(["c_attn"]);
    expect(unmatchedTargets(config({ target_modules: ".*c_attn" }), [Q0])).toEqual([".*c_attn"]);
    expect(unmatchedTargets(config({ target_modules: "all-linear" }), [Q0])).toEqual([]);
  });
});
