// The loader accepts every on-disk variant of the same weights and computes the same logits:
// F32/F16/BF16 mixed in one file, an untied head, fused projections and Baidu's `ernie.` prefix.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { toF16Bits, widenHalf } from "../../src/gguf/half.js";
import { Engine } from "../../src/index.js";
import {
  copyModelDir,
  fusedRemoteCodeTensors,
  rewriteCheckpoint,
  type RawTensor,
} from "../../../../test/helpers/checkpoint.js";
import { DENSE_DIR, LORA_DIR, loadGolden, maxAbsDiff, MOE_DIR } from "../../../../test/helpers/fixtures.js";

const goldens = { [DENSE_DIR]: loadGolden("tiny-ernie45-dense"), [MOE_DIR]: loadGolden("tiny-ernie45-moe") };
const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

function bf16ToF32(t: RawTensor): Float32Array {
  return widenHalf(t.bytes, "BF16");
}

function asF32(t: RawTensor): RawTensor {
  return { dtype: "F32", shape: t.shape, bytes: new Uint8Array(bf16ToF32(t).buffer) };
}

function asF16(t: RawTensor): RawTensor {
  const f = bf16ToF32(t);
  const out = new Uint16Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = toF16Bits(f[i]!);
  return { dtype: "F16", shape: t.shape, bytes: new Uint8Array(out.buffer) };
}

async function chatLogitsDiff(dir: string, src = DENSE_DIR): Promise<number> {
  const golden = goldens[src]!;
  const engine = await Engine.load(dir, { threads: 2 });
  try {
    const logits = await engine.logits(golden.json.prompts.chat!.input_ids);
    return maxAbsDiff(logits, golden.tensors.get("chat.logits")!.data);
  } finally {
    await engine.close();
  }
}

function variant(
  edit: (t: Map<string, RawTensor>, config: Record<string, unknown>) => Map<string, RawTensor> | void,
  src = DENSE_DIR,
): string {
  const dir = copyModelDir(src);
  temps.push(dir);
  const config = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
  rewriteCheckpoint(dir, (tensors) => edit(tensors, config));
  writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

describe("checkpoint variants", () => {
  it("F32, F16 and BF16 tensors mixed in one file", async () => {
    const dir = variant((t) => {
      for (const [name, raw] of t) {
        if (name.includes("q_proj") || name.includes("norm")) t.set(name, asF32(raw));
        if (name.includes("up_proj") || name.includes("o_proj")) t.set(name, asF16(raw));
      }
    });
    expect(await chatLogitsDiff(dir)).toBeLessThan(1e-3);
  });

  it("an untied head stored as lm_head.weight", async () => {
    const dir = variant((t, config) => {
      config.tie_word_embeddings = false;
      t.set("lm_head.weight", t.get("model.embed_tokens.weight")!);
    });
    expect(await chatLogitsDiff(dir)).toBeLessThan(1e-3);
  });

  it("fused qkv_proj and up_gate_proj with Baidu's ernie. prefix", async () => {
    const dir = variant(fusedRemoteCodeTensors);
    expect(await chatLogitsDiff(dir)).toBeLessThan(1e-3);
  });

  it("MoE: fused projections of the dense MLP, the routed and the shared experts, with the ernie. prefix", async () => {
    const dir = variant(fusedRemoteCodeTensors, MOE_DIR);
    expect(await chatLogitsDiff(dir, MOE_DIR)).toBeLessThan(1e-3);
  });

  it("a LoRA adapter (transformers' module names) applies to a checkpoint with Baidu's ernie. prefix", async () => {
    const dir = variant((t) => new Map([...t].map(([name, raw]) => [name.replace(/^model\./, "ernie."), raw])));
    const greedy = async (modelDir: string) => {
      const engine = await Engine.load(modelDir, { threads: 2 });
      try {
        await engine.loadAdapter("lora", LORA_DIR);
        return (await engine.generate({ prompt: "hello", maxNewTokens: 8, temperature: 0, adapter: "lora" }).result())
          .tokenIds;
      } finally {
        await engine.close();
      }
    };
    expect(await greedy(dir)).toEqual(await greedy(DENSE_DIR));
  });

  it("mtp tensors and unknown extras are ignored", async () => {
    const dir = variant((t) => {
      t.set("model.mtp_block.0.self_attn.q_proj.weight", t.get("model.layers.0.self_attn.q_proj.weight")!);
    });
    expect(await chatLogitsDiff(dir)).toBeLessThan(1e-3);
  });
});
