// The float32 engine against transformers' outputs for both tiny checkpoints.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine } from "../../src/index.js";
import { argmax, DENSE_DIR, loadGolden, maxAbsDiff, MOE_DIR, type Golden } from "../../../../test/helpers/fixtures.js";

const LOGIT_TOL = 1e-3;
const HIDDEN_TOL = 1e-3;

describe.each([
  ["tiny-ernie45-dense", DENSE_DIR],
  ["tiny-ernie45-moe", MOE_DIR],
] as const)("%s", (model, dir) => {
  let engine: Engine;
  let golden: Golden;
  let vocab: number;

  beforeAll(async () => {
    engine = await Engine.load(dir, { threads: 2, maxContext: 1024 });
    golden = loadGolden(model);
    vocab = engine.config.hparams.vocabSize;
  });
  afterAll(() => engine?.close());

  it.each(["plain", "chat", "multi", "long"])("logits of the %s prompt match within 1e-3", async (name) => {
    const p = golden.json.prompts[name]!;
    const logits = await engine.logits(p.input_ids);
    expect(logits.length).toBe(p.input_ids.length * vocab);
    const full = golden.tensors.get(`${name}.logits`);
    if (full) {
      expect(maxAbsDiff(logits, full.data)).toBeLessThan(LOGIT_TOL);
    } else {
      const at = golden.tensors.get(`${name}.logits_at`)!;
      p.logits_positions!.forEach((pos, j) => {
        expect(maxAbsDiff(logits, at.data, pos * vocab, j * vocab, vocab)).toBeLessThan(LOGIT_TOL);
      });
    }
  });

  it("per-layer hidden states and router logits of the chat prompt match", async () => {
    const p = golden.json.prompts.chat!;
    const r = await engine.inspect(p.input_ids);
    const L = engine.config.hparams.numHiddenLayers;
    expect(r.hiddenStates.length).toBe(L + 1);
    for (let i = 0; i <= L; i++) {
      const ref = golden.tensors.get(`chat.hidden_states.${i}`) ?? golden.tensors.get("chat.last_hidden_state")!;
      expect(maxAbsDiff(r.hiddenStates[i]!, ref.data), `hidden_states.${i}`).toBeLessThan(HIDDEN_TOL);
    }
    expect(maxAbsDiff(r.hiddenStates[L]!, golden.tensors.get("chat.last_hidden_state")!.data)).toBeLessThan(HIDDEN_TOL);
    const moeLayers = [...r.routerLogits.keys()].sort((a, b) => a - b);
    const refRouters = [...golden.tensors.keys()].filter((k) => k.startsWith("chat.router_logits.")).length;
    expect(moeLayers.length).toBe(refRouters);
    moeLayers.forEach((layer, i) => {
      expect(maxAbsDiff(r.routerLogits.get(layer)!, golden.tensors.get(`chat.router_logits.${i}`)!.data)).toBeLessThan(
        1e-4,
      );
    });
  });

  it.each(["plain", "chat", "multi", "long"])("greedy continuation of %s matches teacher-forced", async (name) => {
    const p = golden.json.prompts[name]!;
    const ids = [...p.input_ids, ...p.greedy_new_ids];
    const logits = await engine.logits(ids);
    p.top5_per_step.forEach((step, k) => {
      const row = (p.input_ids.length - 1 + k) * vocab;
      step.ids.forEach((id, j) => expect(Math.abs(logits[row + id]! - step.logits[j]!)).toBeLessThan(LOGIT_TOL));
      // The golden token is the argmax unless the golden margin is below our numerical error.
      const top = argmax(logits, row, vocab);
      if (step.logits[0]! - step.logits[1]! > 2 * LOGIT_TOL) expect(top).toBe(p.greedy_new_ids[k]);
    });
  });

  it.each(["plain", "chat", "multi", "long"])(
    "free-running greedy generation of %s equals the golden where the margin allows",
    async (name) => {
      const p = golden.json.prompts[name]!;
      const result = await engine
        .generate({ inputIds: p.input_ids, maxNewTokens: p.greedy_new_ids.length, temperature: 0, stopTokenIds: [] })
        .result();
      if (p.min_top2_margin > 2 * LOGIT_TOL) {
        expect(result.tokenIds).toEqual(p.greedy_new_ids.slice(0, result.tokenIds.length));
        // Our stop set (eos ids) may end it early only at a golden eos token.
        if (result.finishReason === "length") expect(result.tokenIds.length).toBe(p.greedy_new_ids.length);
      } else {
        // The reference itself sits on a near-tie; both branches are correct float32 outcomes.
        const firstDiff = result.tokenIds.findIndex((t, i) => t !== p.greedy_new_ids[i]);
        if (firstDiff >= 0) {
          const step = p.top5_per_step[firstDiff]!;
          expect(step.logits[0]! - step.logits[1]!).toBeLessThan(2 * LOGIT_TOL);
          expect(step.ids.slice(0, 2)).toContain(result.tokenIds[firstDiff]);
        }
      }
    },
  );

  it("cached generation equals cache-free recomputation", async () => {
    const p = golden.json.prompts.multi!;
    const gen = await engine
      .generate({ inputIds: p.input_ids, maxNewTokens: 12, temperature: 0, stopTokenIds: [] })
      .result();
    const all = [...p.input_ids, ...gen.tokenIds];
    // One cache-free pass over prompt + generated: each generated token is the argmax at its step.
    const logits = await engine.logits(all);
    gen.tokenIds.forEach((t, k) => expect(argmax(logits, (p.input_ids.length - 1 + k) * vocab, vocab)).toBe(t));
  });
});
