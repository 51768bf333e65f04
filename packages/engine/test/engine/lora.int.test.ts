// engine.loadAdapter: LoRA applied unmerged per request, against the PEFT goldens; bad adapters are refused.
import { readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine, type LoraAdapterSpec } from "../../src/index.js";
import { DENSE_DIR, LORA_DIR, loadGolden, maxAbsDiff } from "../../../../test/helpers/fixtures.js";

/** The fixture adapter described straight from its files (PEFT names → module names, byte ranges). */
function fixtureAdapter(scale = 1): LoraAdapterSpec {
  const config = JSON.parse(readFileSync(path.join(LORA_DIR, "adapter_config.json"), "utf8")) as {
    r: number;
    lora_alpha: number;
  };
  const file = path.join(LORA_DIR, "adapter_model.safetensors");
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const ref = (name: string) => {
    const t = header[name]!;
    return {
      file,
      dtype: t.dtype,
      shape: t.shape,
      byteOffset: 8 + n + t.data_offsets[0],
      byteLength: t.data_offsets[1] - t.data_offsets[0],
    };
  };
  const modules = Object.keys(header)
    .filter((k) => k.endsWith(".lora_A.weight"))
    .map((k) => {
      const module = k.replace(/^base_model\.model\./, "").replace(/\.lora_A\.weight$/, "");
      return {
        module,
        scaling: (scale * config.lora_alpha) / config.r,
        loraA: ref(k),
        loraB: ref(k.replace("lora_A", "lora_B")),
      };
    });
  return { config: { modules } };
}

describe("LoRA adapters", () => {
  let engine: Engine;
  const golden = loadGolden("tiny-ernie45-dense-lora").json.prompts;
  const goldenTensors = loadGolden("tiny-ernie45-dense-lora").tensors;
  const base = loadGolden("tiny-ernie45-dense").tensors;

  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2 });
    await engine.loadAdapter("fixture", fixtureAdapter());
  });
  afterAll(() => engine?.close());

  it("applies the adapter only to requests that name it", async () => {
    const ids = golden.chat!.input_ids;
    expect(
      maxAbsDiff(await engine.logits(ids, { adapter: "fixture" }), goldenTensors.get("chat.logits")!.data),
    ).toBeLessThan(1e-3);
    expect(maxAbsDiff(await engine.logits(ids), base.get("chat.logits")!.data)).toBeLessThan(1e-3);
    const r = await engine
      .generate({ inputIds: golden.plain!.input_ids, maxNewTokens: 8, temperature: 0, adapter: "fixture" })
      .result();
    expect(r.tokenIds).toEqual(golden.plain!.greedy_new_ids.slice(0, 8));
  });

  it("unloads, and refuses unknown names", async () => {
    await engine.loadAdapter("temporary", fixtureAdapter(2));
    expect(engine.loadedAdapters).toContain("temporary");
    await engine.unloadAdapter("temporary");
    expect(() => engine.generate({ prompt: "x", adapter: "temporary" })).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_INVALID_ARGUMENT", message: expect.stringContaining("temporary") }),
    );
  });

  it("refuses an adapter for layers the model does not have, or of the wrong shape", async () => {
    const spec = fixtureAdapter();
    const wrongModule = {
      config: { modules: [{ ...spec.config.modules[0]!, module: "model.layers.9.self_attn.q_proj" }] },
    };
    await expect(engine.loadAdapter("bad", wrongModule)).rejects.toMatchObject({
      code: "ERR_WENXIN_MISSING_TENSOR",
      message: expect.stringContaining("model.layers.9.self_attn.q_proj"),
    });
    const m = spec.config.modules.find((x) => x.module.endsWith("q_proj"))!;
    const wrongShape = { config: { modules: [{ ...m, module: m.module.replace("q_proj", "k_proj") }] } };
    await expect(engine.loadAdapter("bad", wrongShape)).rejects.toMatchObject({ code: "ERR_WENXIN_SHAPE_MISMATCH" });
    expect(engine.loadedAdapters).not.toContain("bad");
  });
});
