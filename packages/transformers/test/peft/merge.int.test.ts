// A LoRA adapter merged into a copy of the checkpoint reproduces PEFT's LoRA goldens
// (logits within 1e-3, greedy ids), and keeps a sharded checkpoint sharded.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { readSafetensorsHeader } from "@wenxin/engine/internal";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  AutoModelForCausalLM,
  PeftModel,
  loadLoraAdapter,
  mergeAdapterIntoCheckpoint,
  type PreTrainedModel,
} from "../../src/index.js";
import { DENSE_DIR, FIXTURES, LORA_DIR, MOE_DIR, loadGolden, maxAbsDiff } from "../../../../test/helpers/fixtures.js";

const LOAD = { engine_options: { threads: 2, maxContext: 512 } };
const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-merge-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("mergeAdapterIntoCheckpoint", () => {
  let merged: PreTrainedModel;
  const golden = loadGolden("tiny-ernie45-dense-lora");
  const out = path.join(tmp, "dense-lora");

  beforeAll(async () => {
    const base = await AutoModelForCausalLM.from_pretrained(DENSE_DIR, LOAD);
    const adapter = await loadLoraAdapter(LORA_DIR, base.config.engineConfig);
    await base.dispose();
    await mergeAdapterIntoCheckpoint(DENSE_DIR, adapter, out);
    merged = await AutoModelForCausalLM.from_pretrained(out, LOAD);
  });
  afterAll(() => merged?.dispose());

  it.each(["plain", "chat"])("the merged model's %s logits and greedy ids match the LoRA golden", async (name) => {
    const p = golden.json.prompts[name]!;
    const { logits } = await merged(p.input_ids);
    expect(maxAbsDiff(logits.data, golden.tensors.get(`${name}.logits`)!.data)).toBeLessThan(1e-3);
    const [ids] = await merged.generate_ids(p.input_ids, { max_new_tokens: p.greedy_new_ids.length, do_sample: false });
    expect(ids!.slice(p.input_ids.length)).toEqual(p.greedy_new_ids);
  });

  it("writes adapted layers as F32 and copies the rest and the other files unchanged", async () => {
    const header = await readSafetensorsHeader(path.join(out, "model.safetensors"));
    expect(header.tensors.get("model.layers.0.self_attn.q_proj.weight")!.dtype).toBe("F32");
    expect(header.tensors.get("model.layers.0.self_attn.k_proj.weight")!.dtype).toBe("BF16");
    expect(readdirSync(out).sort()).toEqual(readdirSync(DENSE_DIR).sort());
    expect(
      readFileSync(path.join(out, "tokenizer.json")).equals(readFileSync(path.join(DENSE_DIR, "tokenizer.json"))),
    ).toBe(true);
  });

  it("refuses a non-empty output directory", async () => {
    const adapter = await loadLoraAdapter(LORA_DIR, merged.config.engineConfig);
    await expect(mergeAdapterIntoCheckpoint(DENSE_DIR, adapter, out)).rejects.toThrow(/is not empty/);
  });

  it("keeps the shards of a sharded checkpoint, with an updated index", async () => {
    const moeOut = path.join(tmp, "moe");
    // An empty adapter list merges nothing: a byte copy of the weights, shards and index kept.
    await mergeAdapterIntoCheckpoint(MOE_DIR, [], moeOut);
    const index = JSON.parse(readFileSync(path.join(moeOut, "model.safetensors.index.json"), "utf8"));
    const original = JSON.parse(readFileSync(path.join(MOE_DIR, "model.safetensors.index.json"), "utf8"));
    expect(index.weight_map).toEqual(original.weight_map);
    expect(existsSync(path.join(moeOut, "model-00002-of-00002.safetensors"))).toBe(true);
    const copy = await AutoModelForCausalLM.from_pretrained(moeOut, LOAD);
    try {
      const g = loadGolden("tiny-ernie45-moe");
      expect(
        maxAbsDiff((await copy(g.json.prompts.plain!.input_ids)).logits.data, g.tensors.get("plain.logits")!.data),
      ).toBeLessThan(1e-3);
    } finally {
      await copy.dispose();
    }
  });

  it("merges peft's fused routed-expert LoRA into every expert's own projections", async () => {
    const adapterDir = path.join(FIXTURES, "finetune", "moe-attn-mlp", "adapter-after-3-steps");
    const base = await AutoModelForCausalLM.from_pretrained(MOE_DIR, LOAD);
    const out = path.join(tmp, "moe-fused");
    try {
      await mergeAdapterIntoCheckpoint(MOE_DIR, await loadLoraAdapter(adapterDir, base.config.engineConfig), out);
      const peft = await PeftModel.from_pretrained(base, adapterDir);
      const merged = await AutoModelForCausalLM.from_pretrained(out, LOAD);
      try {
        const ids = loadGolden("tiny-ernie45-moe").json.prompts.chat!.input_ids;
        const unmerged = (await peft.forward(ids)).logits.data;
        expect(maxAbsDiff((await merged(ids)).logits.data, unmerged)).toBeLessThan(1e-3);
        expect(maxAbsDiff((await base(ids)).logits.data, unmerged)).toBeGreaterThan(1e-2); // the adapter matters
      } finally {
        await merged.dispose();
      }
    } finally {
      await base.dispose();
    }
  });
});
