// LoRA applied unmerged inside the engine (engine.loadAdapter + a per-request adapter): PEFT's
// goldens unmerged and after merge_and_unload, and two adapters alternating across concurrent
// requests without mixing.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  AutoModelForCausalLM,
  BASE_ADAPTER,
  PeftModel,
  loadLoraAdapter,
  mergeAdapterIntoCheckpoint,
  type PreTrainedModel,
} from "../src/index.js";
import { DENSE_DIR, LORA_DIR, loadGolden, maxAbsDiff } from "../../../test/helpers/fixtures.js";

const LOAD = { engine_options: { threads: 2, maxContext: 512 } };
const TOL = 1e-3;

describe("LoRA in the engine", () => {
  const golden = loadGolden("tiny-ernie45-dense-lora");
  const base = loadGolden("tiny-ernie45-dense");
  const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-peft-"));
  let model: PreTrainedModel;
  let peft: PeftModel;
  /** A second adapter: the fixture's weights at twice the scale (lora_alpha 32), and a merged checkpoint of it. */
  let otherDir: string;
  let otherMerged: PreTrainedModel;

  beforeAll(async () => {
    otherDir = path.join(tmp, "other-lora");
    mkdirSync(otherDir);
    const config = JSON.parse(readFileSync(path.join(LORA_DIR, "adapter_config.json"), "utf8"));
    writeFileSync(path.join(otherDir, "adapter_config.json"), JSON.stringify({ ...config, lora_alpha: 32 }));
    copyFileSync(path.join(LORA_DIR, "adapter_model.safetensors"), path.join(otherDir, "adapter_model.safetensors"));
    model = await AutoModelForCausalLM.from_pretrained(DENSE_DIR, LOAD);
    peft = await PeftModel.from_pretrained(model, LORA_DIR, { adapter_name: "fixture" });
    await peft.load_adapter(otherDir, "double");
    const mergedDir = path.join(tmp, "double-merged");
    await mergeAdapterIntoCheckpoint(DENSE_DIR, await loadLoraAdapter(otherDir, model.config.engineConfig), mergedDir);
    otherMerged = await AutoModelForCausalLM.from_pretrained(mergedDir, LOAD);
  });
  afterAll(async () => {
    await model?.dispose();
    await otherMerged?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it.each(["plain", "chat"])("unmerged: %s logits within 1e-3 and greedy ids equal the golden", async (name) => {
    const p = golden.json.prompts[name]!;
    const { logits } = await peft.forward(p.input_ids);
    expect(maxAbsDiff(logits.data, golden.tensors.get(`${name}.logits`)!.data)).toBeLessThan(TOL);
    const [ids] = await peft.generate_ids(p.input_ids, { max_new_tokens: p.greedy_new_ids.length, do_sample: false });
    expect(ids!.slice(p.input_ids.length)).toEqual(p.greedy_new_ids);
  });

  it("merge_and_unload: the merged model matches the golden too", async () => {
    const merged = await peft.merge_and_unload();
    try {
      for (const name of ["plain", "chat"]) {
        const p = golden.json.prompts[name]!;
        expect(
          maxAbsDiff((await merged(p.input_ids)).logits.data, golden.tensors.get(`${name}.logits`)!.data),
        ).toBeLessThan(TOL);
        const [ids] = await merged.generate_ids(p.input_ids, {
          max_new_tokens: p.greedy_new_ids.length,
          do_sample: false,
        });
        expect(ids!.slice(p.input_ids.length)).toEqual(p.greedy_new_ids);
      }
    } finally {
      await merged.dispose();
    }
  });

  it("two adapters and the base model alternate across concurrent requests without mixing", async () => {
    const plain = golden.json.prompts.plain!;
    const n = plain.greedy_new_ids.length;
    const [doubleIds] = await otherMerged.generate_ids(plain.input_ids, { max_new_tokens: n, do_sample: false });
    const expected: Record<string, number[]> = {
      fixture: plain.greedy_new_ids,
      double: doubleIds!.slice(plain.input_ids.length),
      [BASE_ADAPTER]: base.json.prompts.plain!.greedy_new_ids.slice(0, n),
    };
    expect(expected.double).not.toEqual(expected.fixture);
    const order = ["fixture", "double", BASE_ADAPTER, "double", "fixture", "double", BASE_ADAPTER, "fixture"];
    const runs = await Promise.all([
      peft.generate_ids(
        order.map(() => plain.input_ids),
        { max_new_tokens: n, do_sample: false, adapter_names: order },
      ),
      ...order.map((a) =>
        peft.generate_ids(plain.input_ids, { max_new_tokens: n, do_sample: false, adapter_names: [a] }),
      ),
    ]);
    const [batch, ...singles] = runs;
    order.forEach((a, i) => {
      expect(batch![i]!.slice(plain.input_ids.length)).toEqual(expected[a]);
      expect(singles[i]![0]!.slice(plain.input_ids.length)).toEqual(expected[a]);
    });
    const logits = await peft.forward([plain.input_ids, plain.input_ids], { adapter_names: ["double", "fixture"] });
    const vocabRow = plain.input_ids.length * 8000;
    const doubleGolden = (await otherMerged(plain.input_ids)).logits.data;
    expect(maxAbsDiff(logits.logits.data, doubleGolden, 0, 0, vocabRow)).toBeLessThan(TOL);
    expect(
      maxAbsDiff(logits.logits.data, golden.tensors.get("plain.logits")!.data, vocabRow, 0, vocabRow),
    ).toBeLessThan(TOL);
  });
});
