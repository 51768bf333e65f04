// engine.loadAdapter: LoRA applied unmerged per request, against the PEFT goldens; bad adapters are refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine } from "../../src/index.js";
import { DENSE_DIR, loadGolden, maxAbsDiff } from "../../../../test/helpers/fixtures.js";
import { fixtureAdapter } from "../../../../test/helpers/lora.js";

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
