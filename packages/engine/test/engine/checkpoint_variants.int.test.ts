// The loader accepts every on-disk variant of the same weights and computes the same logits:
// F32/F16/BF16 mixed in one file, an untied head, fused projections and Baidu's `ernie.` prefix.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { toF16Bits, widenHalf } from "../../src/gguf/half.js";
import { Engine } from "../../src/index.js";
import {
  copyModelDir,
  readRawSafetensors,
  writeSafetensors,
  type RawTensor,
} from "../../../../test/helpers/checkpoint.js";
import { DENSE_DIR, loadGolden, maxAbsDiff } from "../../../../test/helpers/fixtures.js";

const golden = loadGolden("tiny-ernie45-dense");
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

function concatRows(parts: RawTensor[]): RawTensor {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.bytes.length, 0));
  let o = 0;
  for (const p of parts) {
    bytes.set(p.bytes, o);
    o += p.bytes.length;
  }
  return { dtype: parts[0]!.dtype, shape: [parts.reduce((n, p) => n + p.shape[0]!, 0), parts[0]!.shape[1]!], bytes };
}

async function chatLogitsDiff(dir: string): Promise<number> {
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
): string {
  const dir = copyModelDir(DENSE_DIR);
  temps.push(dir);
  const file = path.join(dir, "model.safetensors");
  const tensors = readRawSafetensors(file);
  const config = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
  const replaced = edit(tensors, config) ?? tensors;
  writeSafetensors(file, replaced);
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
    const dir = variant((t) => {
      const out = new Map<string, RawTensor>();
      for (const [name, raw] of t) {
        const n = name.replace(/^model\./, "ernie.");
        if (/k_proj|v_proj|up_proj/.test(n)) continue;
        if (n.endsWith("q_proj.weight")) {
          const base = name.slice(0, -"q_proj.weight".length);
          out.set(
            n.replace("q_proj", "qkv_proj"),
            concatRows([raw, t.get(base + "k_proj.weight")!, t.get(base + "v_proj.weight")!]),
          );
        } else if (n.endsWith("gate_proj.weight")) {
          const base = name.slice(0, -"gate_proj.weight".length);
          out.set(n.replace("gate_proj", "up_gate_proj"), concatRows([raw, t.get(base + "up_proj.weight")!]));
        } else {
          out.set(n, raw);
        }
      }
      return out;
    });
    expect(await chatLogitsDiff(dir)).toBeLessThan(1e-3);
  });

  it("mtp tensors and unknown extras are ignored", async () => {
    const dir = variant((t) => {
      t.set("model.mtp_block.0.self_attn.q_proj.weight", t.get("model.layers.0.self_attn.q_proj.weight")!);
    });
    expect(await chatLogitsDiff(dir)).toBeLessThan(1e-3);
  });
});
