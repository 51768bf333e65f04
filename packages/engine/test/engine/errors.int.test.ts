// Every bad input of the engine gives a typed WenxinError that names the problem; none crashes Node.
import { readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine } from "../../src/index.js";
import { loadErrorOf } from "../../../../test/helpers/errors.js";
import { copyModelDir, readRawSafetensors, writeSafetensors } from "../../../../test/helpers/checkpoint.js";
import { DENSE_DIR, MOE_DIR } from "../../../../test/helpers/fixtures.js";

const temps: string[] = [];
function tmpModel(src = DENSE_DIR): string {
  const dir = copyModelDir(src);
  temps.push(dir);
  return dir;
}
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
  const file = path.join(dir, "config.json");
  const c = JSON.parse(readFileSync(file, "utf8"));
  edit(c);
  writeFileSync(file, JSON.stringify(c));
}

function editWeights(dir: string, edit: (t: ReturnType<typeof readRawSafetensors>) => void): void {
  const file = path.join(dir, "model.safetensors");
  const t = readRawSafetensors(file);
  edit(t);
  writeSafetensors(file, t);
}

describe("load errors", () => {
  it("missing model directory", async () => {
    const err = await loadErrorOf("/nonexistent/wenxin-model");
    expect(err.code).toBe("ERR_WENXIN_FILE_NOT_FOUND");
    expect(err.message).toContain("config.json");
  });

  it("missing weights file", async () => {
    const dir = tmpModel();
    unlinkSync(path.join(dir, "model.safetensors"));
    const err = await loadErrorOf(dir);
    expect(err.code).toBe("ERR_WENXIN_FILE_NOT_FOUND");
    expect(err.message).toContain("model.safetensors");
  });

  it("missing shard listed in the index", async () => {
    const dir = tmpModel(MOE_DIR);
    unlinkSync(path.join(dir, "model-00002-of-00002.safetensors"));
    const err = await loadErrorOf(dir);
    expect(err.code).toBe("ERR_WENXIN_FILE_NOT_FOUND");
    expect(err.message).toContain("model-00002-of-00002.safetensors");
  });

  it("missing tensor, named with its expected shape", async () => {
    const dir = tmpModel();
    editWeights(dir, (t) => t.delete("model.layers.1.self_attn.k_proj.weight"));
    const err = await loadErrorOf(dir);
    expect(err.code).toBe("ERR_WENXIN_MISSING_TENSOR");
    expect(err.message).toContain("model.layers.1.self_attn.k_proj.weight");
    expect(err.message).toContain("[64, 128]");
  });

  it("wrong shape, with expected and actual", async () => {
    const dir = tmpModel();
    editWeights(dir, (t) => {
      const w = t.get("model.layers.2.mlp.down_proj.weight")!;
      t.set("model.layers.2.mlp.down_proj.weight", { ...w, shape: [384, 128] });
    });
    const err = await loadErrorOf(dir);
    expect(err.code).toBe("ERR_WENXIN_SHAPE_MISMATCH");
    expect(err.message).toContain("model.layers.2.mlp.down_proj.weight");
    expect(err.message).toContain("[384, 128]");
    expect(err.message).toContain("[128, 384]");
  });

  it("unsupported dtype", async () => {
    const dir = tmpModel();
    editWeights(dir, (t) => {
      const w = t.get("model.norm.weight")!; // 128 bf16 = 256 bytes = 32 float64
      t.set("model.norm.weight", { dtype: "F64", shape: [128], bytes: new Uint8Array(1024) });
      void w;
    });
    const err = await loadErrorOf(dir);
    expect(err.code).toBe("ERR_WENXIN_UNSUPPORTED_DTYPE");
    expect(err.message).toContain("model.norm.weight");
    expect(err.message).toContain("F64");
  });

  it("corrupt safetensors header", async () => {
    const dir = tmpModel();
    const file = path.join(dir, "model.safetensors");
    const buf = readFileSync(file);
    buf.write("{{{{", 8);
    writeFileSync(file, buf);
    const err = await loadErrorOf(dir);
    expect(err.code).toBe("ERR_WENXIN_INVALID_FILE");
    expect(err.message).toContain("model.safetensors");
  });

  it("truncated safetensors file", async () => {
    const dir = tmpModel();
    const file = path.join(dir, "model.safetensors");
    writeFileSync(file, readFileSync(file).subarray(0, 4096));
    const err = await loadErrorOf(dir);
    expect(err.code).toBe("ERR_WENXIN_INVALID_FILE");
  });

  it("unknown architecture", async () => {
    const dir = tmpModel();
    editConfig(dir, (c) => {
      c.architectures = ["LlamaForCausalLM"];
      c.model_type = "llama";
    });
    const err = await loadErrorOf(dir);
    expect(err.code).toBe("ERR_WENXIN_UNKNOWN_ARCHITECTURE");
    expect(err.message).toContain("LlamaForCausalLM");
  });

  it("invalid config value", async () => {
    const dir = tmpModel();
    editConfig(dir, (c) => {
      c.num_key_value_heads = 3;
    });
    const err = await loadErrorOf(dir);
    expect(err.code).toBe("ERR_WENXIN_INVALID_CONFIG");
    expect(err.message).toContain("num_key_value_heads");
  });

  it("missing tokenizer files", async () => {
    const dir = tmpModel();
    unlinkSync(path.join(dir, "tokenizer.json"));
    unlinkSync(path.join(dir, "tokenizer.model"));
    const err = await loadErrorOf(dir);
    expect(err.code).toBe("ERR_WENXIN_FILE_NOT_FOUND");
    expect(err.message).toContain("tokenizer");
  });
});

describe("request errors", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 1, maxContext: 64, kvCacheTokens: 128 });
  });
  afterAll(() => engine?.close());

  it("prompt longer than the context", async () => {
    const ids = Array.from({ length: 80 }, (_, i) => 300 + i);
    expect(() => engine.generate({ inputIds: ids, maxNewTokens: 4 })).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_CONTEXT_OVERFLOW", message: expect.stringContaining("80 tokens") }),
    );
    await expect(engine.logits(ids)).rejects.toMatchObject({ code: "ERR_WENXIN_CONTEXT_OVERFLOW" });
  });

  it("ids outside the vocabulary", async () => {
    await expect(engine.logits([5, 8000])).rejects.toMatchObject({
      code: "ERR_WENXIN_TOKEN_OUT_OF_RANGE",
      message: expect.stringContaining("8000"),
    });
    expect(() => engine.generate({ inputIds: [-1], maxNewTokens: 1 })).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_TOKEN_OUT_OF_RANGE" }),
    );
    expect(() => engine.tokenizer.decode([123456])).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_TOKEN_OUT_OF_RANGE" }),
    );
  });

  it("invalid generation options", () => {
    expect(() => engine.generate({ prompt: "hi", topP: 2 })).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_INVALID_ARGUMENT" }),
    );
    expect(() => engine.generate({ prompt: "hi", maxNewTokens: 0 })).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_INVALID_ARGUMENT" }),
    );
  });

  it("requests beyond the free KV budget wait, then finish with the tokens they produce alone", async () => {
    // Budget 128 tokens (4 blocks of 32): three 58-token sequences (2 blocks each) cannot all run at once.
    const prompt = Array.from({ length: 50 }, (_, i) => 400 + i);
    const opts = { inputIds: prompt, maxNewTokens: 8, temperature: 0, stopTokenIds: [] };
    const solo = await engine.generate(opts).result();
    const runs = await Promise.all([0, 1, 2].map(() => engine.generate(opts).result()));
    for (const r of runs) expect(r.tokenIds).toEqual(solo.tokenIds);
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0 });
  });

  it("a request larger than the whole KV budget is refused at submit, and the engine keeps serving", async () => {
    const prompt = Array.from({ length: 60 }, (_, i) => 400 + i);
    const big = await Engine.load(DENSE_DIR, { threads: 1, maxContext: 256, kvCacheTokens: 64 });
    try {
      expect(() => big.generate({ inputIds: prompt, maxNewTokens: 10, temperature: 0 })).toThrow(
        expect.objectContaining({ code: "ERR_WENXIN_KV_CACHE_FULL", message: expect.stringContaining("70 tokens") }),
      );
      const ok = await big.generate({ inputIds: prompt.slice(0, 20), maxNewTokens: 4, temperature: 0 }).result();
      expect(ok.completionTokens).toBe(4);
    } finally {
      await big.close();
    }
  });

  it("maxNewTokens beyond the context is refused at submit", () => {
    expect(() => engine.generate({ inputIds: [1, 2, 3], maxNewTokens: 62, temperature: 0 })).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_CONTEXT_OVERFLOW", message: expect.stringContaining("65 tokens") }),
    );
  });

  it("a closed engine refuses work with ENGINE_CLOSED", async () => {
    const e = await Engine.load(DENSE_DIR, { threads: 1 });
    const running = e.generate({ prompt: "hello", maxNewTokens: 4000 }).result();
    await e.close();
    await expect(running).rejects.toMatchObject({ code: "ERR_WENXIN_ENGINE_CLOSED" });
    expect(() => e.generate({ prompt: "hello" })).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_ENGINE_CLOSED" }),
    );
    await expect(e.logits([1, 2])).rejects.toMatchObject({ code: "ERR_WENXIN_ENGINE_CLOSED" });
  });
});
