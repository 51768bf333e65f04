// Both tiny fixture models converted to F32 GGUF and loaded back: the golden logits (RoPE at long
// range included), the same hyper-parameters as from config.json, and a tokenizer and chat template
// from the GGUF metadata that reproduce the transformers ones.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine, convertToGguf } from "../../src/index.js";
import { loadModelConfig, readGgufFile } from "../../src/internal.js";
import {
  DENSE_DIR,
  MOE_DIR,
  loadChatTemplateCases,
  loadGolden,
  loadTokenizerCases,
  maxAbsDiff,
} from "../../../../test/helpers/fixtures.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-gguf-load-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tokenizerCases = loadTokenizerCases();
const chatCases = loadChatTemplateCases();

const MODELS = [
  { name: "tiny-ernie45-dense", dir: DENSE_DIR, arch: "ernie4_5" },
  { name: "tiny-ernie45-moe", dir: MOE_DIR, arch: "ernie4_5-moe" },
] as const;

describe.each(MODELS)("F32 GGUF of $name", ({ name, dir, arch }) => {
  const golden = loadGolden(name);
  const file = path.join(tmp, `${name}.gguf`);
  let engine: Engine;
  beforeAll(async () => {
    await convertToGguf(dir, { out: file, type: "f32" });
    engine = await Engine.load(file, { threads: 2, maxContext: 1024 });
  });
  afterAll(() => engine?.close());

  it("is laid out as llama.cpp's converter writes it", () => {
    const info = readGgufFile(file);
    expect(info.metadata.get("general.architecture")).toBe(arch);
    const q = info.tensors.find((t) => t.name === "blk.0.attn_q.weight")!;
    const hp = engine.config.hparams;
    expect(q.dims).toEqual([hp.hiddenSize, hp.numAttentionHeads * hp.headDim]); // innermost first
    expect(info.tensors.every((t) => t.typeName === "F32")).toBe(true);
    if (arch === "ernie4_5-moe") {
      const gate = info.tensors.find((t) => t.name === "blk.1.ffn_gate_exps.weight")!;
      expect(gate.dims).toEqual([hp.hiddenSize, hp.moeIntermediateSize, hp.moeNumExperts]);
      expect(info.tensors.some((t) => t.name === "blk.1.exp_probs_b.bias")).toBe(true);
      expect(info.tensors.some((t) => t.name === "blk.1.ffn_down_shexp.weight")).toBe(true);
      expect(info.tensors.some((t) => t.name === "output.weight")).toBe(true); // untied head
    } else {
      expect(info.tensors.some((t) => t.name === "output.weight")).toBe(false); // tied head
    }
  });

  it("derives the same hyper-parameters as config.json", async () => {
    const fromDir = await loadModelConfig(dir);
    expect(engine.config.hparams).toEqual({ ...fromDir.hparams, rmsNormEps: Math.fround(fromDir.hparams.rmsNormEps) });
    expect(engine.config.eosTokenIds).toEqual([2]);
  });

  it.each(["plain", "chat"])("gives the golden logits for the %s prompt within 1e-3", async (p) => {
    const logits = await engine.logits(golden.json.prompts[p]!.input_ids);
    const d = maxAbsDiff(logits, golden.tensors.get(`${p}.logits`)!.data);
    console.log(`${name} F32 GGUF ${p}: max |Δ logits| = ${d.toExponential(2)}`);
    expect(d).toBeLessThan(1e-3);
  });

  it("gives the golden logits at long range (adjacent-pair RoPE, no Q/K permutation)", async () => {
    const prompt = golden.json.prompts.long!;
    const logits = await engine.logits(prompt.input_ids);
    const at = golden.tensors.get("long.logits_at")!.data;
    const V = engine.config.hparams.vocabSize;
    let worst = 0;
    prompt.logits_positions!.forEach((pos, i) => (worst = Math.max(worst, maxAbsDiff(logits, at, pos * V, i * V, V))));
    expect(worst).toBeLessThan(1e-3);
  });

  it("tokenizes every fixture case like the transformers tokenizer", () => {
    for (const c of tokenizerCases.cases) {
      expect(engine.tokenizer.encode(c.text), c.text).toEqual(c.ids);
      expect(engine.tokenizer.decode(c.ids)).toBe(c.decoded);
      expect(engine.tokenizer.decode(c.ids, { skipSpecialTokens: true })).toBe(c.decoded_skip_special);
    }
  });

  it("renders the chat template from tokenizer.chat_template", () => {
    for (const c of chatCases.cases) {
      const text = engine.applyChatTemplate(c.messages, { addGenerationPrompt: c.add_generation_prompt });
      expect(text, c.name).toBe(c.text);
      expect(engine.tokenizer.encode(text)).toEqual(c.ids);
    }
    expect(engine.stopTokenIds).toContain(engine.tokenizer.tokenToId("<|end_of_sentence|>"));
  });

  it("generates the golden greedy continuation where its margin is comfortable", async () => {
    const p = golden.json.prompts.plain!;
    if (p.min_top2_margin < 0.01) return; // the MoE plain prompt has a 0.004 margin step: checked by logits above
    const { tokenIds } = await engine
      .generate({ inputIds: p.input_ids, maxNewTokens: p.greedy_new_ids.length, temperature: 0, ignoreEos: true })
      .result();
    expect(tokenIds).toEqual(p.greedy_new_ids);
  });
});

describe("GGUF load options", () => {
  it("quantizes an F32 GGUF at load like a checkpoint directory (weights: q8)", async () => {
    const file = path.join(tmp, "dense-for-q8.gguf");
    await convertToGguf(DENSE_DIR, { out: file, type: "f32" });
    const ids = loadGolden("tiny-ernie45-dense").json.prompts.plain!.input_ids;
    const [a, b] = await Promise.all([
      Engine.load(file, { threads: 2, weights: "q8" }),
      Engine.load(DENSE_DIR, { threads: 2, weights: "q8" }),
    ]);
    try {
      expect(maxAbsDiff(await a.logits(ids), await b.logits(ids))).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
