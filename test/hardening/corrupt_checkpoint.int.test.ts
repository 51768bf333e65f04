// Corrupted copies of the fixture checkpoints (made in a temp dir; fixtures are only read): every
// one must fail Engine.load with a typed WenxinError whose message names the file and the tensor
// or key at fault; none may crash, hang or load.
import { readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import type { WenxinError } from "../../packages/engine/src/index.js";
import { Engine, type WenxinErrorCode } from "../../packages/engine/src/index.js";
import { parseSafetensorsBuffer } from "../../packages/engine/src/model/safetensors_file.js";
import { loadErrorOf } from "../helpers/errors.js";
import { copyModelDir, editSafetensorsHeader, readRawSafetensors, writeSafetensors } from "../helpers/checkpoint.js";
import { DENSE_DIR, MOE_DIR } from "../helpers/fixtures.js";

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

function copy(src = DENSE_DIR): string {
  const dir = copyModelDir(src);
  temps.push(dir);
  return dir;
}

type Header = Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;

/** Rewrites a safetensors header in place, keeping the data section byte for byte. */
function editHeader(file: string, edit: (h: Header) => void): void {
  editSafetensorsHeader(file, (json) => {
    const header = JSON.parse(json) as Header;
    edit(header);
    return JSON.stringify(header);
  });
}

/** The length of a valid file's JSON header, padding included. */
function headerLength(file: string): number {
  return parseSafetensorsBuffer(file, readFileSync(file)).header.dataStart - 8;
}

function editJson(file: string, edit: (j: Record<string, unknown>) => void): void {
  const j = JSON.parse(readFileSync(file, "utf8"));
  edit(j);
  writeFileSync(file, JSON.stringify(j));
}

async function loadError(dir: string, code: WenxinErrorCode, ...named: string[]): Promise<WenxinError> {
  const w = await loadErrorOf(dir);
  expect(w.code, w.message).toBe(code);
  for (const s of named) expect(w.message).toContain(s);
  return w;
}

const W = "model.safetensors";
const Q = "model.layers.1.self_attn.q_proj.weight";
const DOWN = "model.layers.2.mlp.down_proj.weight";

describe("corrupted safetensors", () => {
  it("truncated in the data section: the tensors past the end are named", async () => {
    const dir = copy();
    const file = path.join(dir, W);
    const buf = readFileSync(file);
    writeFileSync(file, buf.subarray(0, Math.floor(buf.length / 2)));
    const err = await loadError(dir, "ERR_WENXIN_INVALID_FILE", file, "data_offsets outside the file");
    expect(err.message).toMatch(/entry '[^']+'/);
  });

  it("truncated inside the 8-byte length", async () => {
    const dir = copy();
    writeFileSync(path.join(dir, W), Buffer.from([1, 2, 3]));
    await loadError(dir, "ERR_WENXIN_INVALID_FILE", path.join(dir, W), "8-byte header length");
  });

  it("header length past the end of the file", async () => {
    const dir = copy();
    const file = path.join(dir, W);
    const buf = readFileSync(file);
    buf.writeBigUInt64LE(BigInt(buf.length + 100), 0);
    writeFileSync(file, buf);
    await loadError(dir, "ERR_WENXIN_INVALID_FILE", file, `header length ${buf.length + 100}`);
  });

  it("header of binary garbage", async () => {
    const dir = copy();
    const file = path.join(dir, W);
    const buf = readFileSync(file);
    buf.fill(0xff, 8, 40);
    writeFileSync(file, buf);
    await loadError(dir, "ERR_WENXIN_INVALID_FILE", file, "invalid JSON");
  });

  it("data offsets out of range", async () => {
    const dir = copy();
    editHeader(path.join(dir, W), (h) => {
      const [b, e] = h[Q]!.data_offsets;
      h[Q]!.data_offsets = [b + 1e9, e + 1e9];
    });
    await loadError(dir, "ERR_WENXIN_INVALID_FILE", path.join(dir, W), `'${Q}'`, "outside the file");
  });

  it("overlapping tensors", async () => {
    const dir = copy();
    editHeader(path.join(dir, W), (h) => {
      const [b] = h[Q]!.data_offsets;
      const len = h[DOWN]!.data_offsets[1] - h[DOWN]!.data_offsets[0];
      h[DOWN]!.data_offsets = [b + 2, b + 2 + len];
    });
    await loadError(dir, "ERR_WENXIN_INVALID_FILE", path.join(dir, W), Q, DOWN, "overlap");
  });

  it("byte count that does not match dtype x shape", async () => {
    const dir = copy();
    editHeader(path.join(dir, W), (h) => {
      h[Q]!.shape = [h[Q]!.shape[0]! + 1, h[Q]!.shape[1]!];
    });
    await loadError(dir, "ERR_WENXIN_INVALID_FILE", path.join(dir, W), `'${Q}'`, "bytes");
  });

  it("a dtype the graph cannot use (I64)", async () => {
    const dir = copy();
    editHeader(path.join(dir, W), (h) => {
      h["model.norm.weight"]!.dtype = "I64";
      h["model.norm.weight"]!.shape = [h["model.norm.weight"]!.shape[0]! / 4]; // bf16[128] = 256 bytes = i64[32]
    });
    await loadError(dir, "ERR_WENXIN_UNSUPPORTED_DTYPE", path.join(dir, W), "'model.norm.weight'", "I64");
  });

  it("an unknown dtype", async () => {
    const dir = copy();
    editHeader(path.join(dir, W), (h) => {
      h[Q]!.dtype = "Q9_X";
    });
    await loadError(dir, "ERR_WENXIN_UNSUPPORTED_DTYPE", path.join(dir, W), `'${Q}'`, "unknown");
  });

  it("the wrong shape for a known tensor", async () => {
    const dir = copy();
    editHeader(path.join(dir, W), (h) => {
      h[DOWN]!.shape = [h[DOWN]!.shape[1]!, h[DOWN]!.shape[0]!];
    });
    await loadError(dir, "ERR_WENXIN_SHAPE_MISMATCH", path.join(dir, W), `'${DOWN}'`, "[384, 128]", "[128, 384]");
  });

  it.each([
    ["NaN", 0x7fc0],
    ["+Inf", 0x7f80],
    ["-Inf", 0xff80],
  ])("a %s weight", async (_label, bits) => {
    const dir = copy();
    const file = path.join(dir, W);
    const t = readRawSafetensors(file);
    const w = t.get(DOWN)!;
    new DataView(w.bytes.buffer, w.bytes.byteOffset).setUint16(2 * 777, bits, true);
    writeSafetensors(file, t);
    await loadError(dir, "ERR_WENXIN_INVALID_FILE", file, `'${DOWN}'`, "NaN or infinity", "element 777");
  });

  it("a tensor the graph needs is absent: the searched files are named", async () => {
    const dir = copy();
    const t = readRawSafetensors(path.join(dir, W));
    t.delete(Q);
    writeSafetensors(path.join(dir, W), t);
    await loadError(dir, "ERR_WENXIN_MISSING_TENSOR", `'${Q}'`, path.join(dir, W));
  });
});

describe("valid but unusual safetensors", () => {
  it("a header without padding (every tensor misaligned) loads and computes what the original does", async () => {
    const dir = copy();
    // A metadata note of the right length makes the header length odd.
    for (const note of ["x", "xy"]) {
      editHeader(path.join(dir, W), (h) => {
        (h as Record<string, unknown>).__metadata__ = { note };
      });
      if (headerLength(path.join(dir, W)) % 2 === 1) break;
    }
    expect(headerLength(path.join(dir, W)) % 2).toBe(1);
    const ids = [1, 2, 3, 4, 5, 100, 200];
    const original = await Engine.load(DENSE_DIR, { threads: 1 });
    const unpadded = await Engine.load(dir, { threads: 1 });
    try {
      expect(Array.from(await unpadded.logits(ids))).toEqual(Array.from(await original.logits(ids)));
    } finally {
      await original.close();
      await unpadded.close();
    }
  });
});

describe("corrupted sharded checkpoints", () => {
  const SHARD2 = "model-00002-of-00002.safetensors";
  const INDEX = "model.safetensors.index.json";

  it("a shard named in the index is missing", async () => {
    const dir = copy(MOE_DIR);
    unlinkSync(path.join(dir, SHARD2));
    await loadError(dir, "ERR_WENXIN_FILE_NOT_FOUND", SHARD2, INDEX, "for tensor 'model.");
  });

  it("a tensor is mapped to a shard that does not exist", async () => {
    const dir = copy(MOE_DIR);
    editJson(path.join(dir, INDEX), (j) => {
      (j.weight_map as Record<string, string>)["model.norm.weight"] = "model-00003-of-00002.safetensors";
    });
    await loadError(dir, "ERR_WENXIN_FILE_NOT_FOUND", "model-00003-of-00002.safetensors", "'model.norm.weight'");
  });

  it.each(["..", "../../../../dev/stdin", "/etc/passwd", "sub/dir.safetensors", ""])(
    "a shard name that is a path (%j)",
    async (name) => {
      const dir = copy(MOE_DIR);
      editJson(path.join(dir, INDEX), (j) => {
        (j.weight_map as Record<string, string>)["model.norm.weight"] = name;
      });
      await loadError(dir, "ERR_WENXIN_INVALID_FILE", INDEX, "'model.norm.weight'", "not a file name");
    },
  );

  it("a shard lacks a tensor the index promised", async () => {
    const dir = copy(MOE_DIR);
    const file = path.join(dir, SHARD2);
    const t = readRawSafetensors(file);
    const name = [...t.keys()].find((k) => k.includes("experts.1.down_proj"))!;
    t.delete(name);
    writeSafetensors(file, t);
    await loadError(dir, "ERR_WENXIN_MISSING_TENSOR", `'${name}'`, SHARD2);
  });

  it("a tensor in two shards", async () => {
    const dir = copy(MOE_DIR);
    const one = readRawSafetensors(path.join(dir, "model-00001-of-00002.safetensors"));
    const two = readRawSafetensors(path.join(dir, SHARD2));
    const name = [...one.keys()][0]!;
    two.set(name, one.get(name)!);
    writeSafetensors(path.join(dir, SHARD2), two);
    await loadError(dir, "ERR_WENXIN_INVALID_FILE", `'${name}'`, "more than one shard");
  });
});

describe("corrupted config.json", () => {
  it.each([
    ["negative hidden_size", (c: Record<string, unknown>) => (c.hidden_size = -128), "hidden_size"],
    ["zero layers", (c: Record<string, unknown>) => (c.num_hidden_layers = 0), "num_hidden_layers"],
    ["a missing key", (c: Record<string, unknown>) => delete c.vocab_size, "vocab_size"],
    [
      "heads not divided by kv heads",
      (c: Record<string, unknown>) => (c.num_key_value_heads = 3),
      "num_key_value_heads",
    ],
    ["a size no machine holds", (c: Record<string, unknown>) => (c.hidden_size = 2 ** 40), "hidden_size"],
    ["a string for a number", (c: Record<string, unknown>) => (c.num_attention_heads = "8"), "num_attention_heads"],
    ["an odd head_dim", (c: Record<string, unknown>) => (c.head_dim = 33), "head_dim"],
  ])("%s", async (_label, edit, key) => {
    const dir = copy();
    editJson(path.join(dir, "config.json"), edit);
    await loadError(dir, "ERR_WENXIN_INVALID_CONFIG", key);
  });

  it("MoE: moe_k above the expert count", async () => {
    const dir = copy(MOE_DIR);
    editJson(path.join(dir, "config.json"), (c) => (c.moe_k = 1000));
    await loadError(dir, "ERR_WENXIN_INVALID_CONFIG", "moe_k");
  });

  it("not JSON at all", async () => {
    const dir = copy();
    writeFileSync(path.join(dir, "config.json"), "{ hidden_size: 128,");
    await loadError(dir, "ERR_WENXIN_INVALID_FILE", path.join(dir, "config.json"));
  });
});

describe("corrupted tokenizers", () => {
  it("tokenizer.json that is not JSON", async () => {
    const dir = copy();
    const file = path.join(dir, "tokenizer.json");
    writeFileSync(file, readFileSync(file).subarray(0, 1000));
    await loadError(dir, "ERR_WENXIN_TOKENIZER", file);
  });

  it("tokenizer.json with a null added token (a crash found by fuzzing)", async () => {
    const dir = copy();
    editJson(path.join(dir, "tokenizer.json"), (j) => (j.added_tokens as unknown[]).push(null));
    await loadError(dir, "ERR_WENXIN_TOKENIZER", "tokenizer.json", "added_tokens");
  });

  it("tokenizer.json with a malformed post-processor (a crash found by fuzzing)", async () => {
    const dir = copy();
    editJson(
      path.join(dir, "tokenizer.json"),
      (j) => (j.post_processor = { type: "TemplateProcessing", single: ["x"], pair: [], special_tokens: {} }),
    );
    await loadError(dir, "ERR_WENXIN_TOKENIZER", "tokenizer");
  });

  it("tokenizer.json with negative vocabulary ids", async () => {
    const dir = copy();
    editJson(
      path.join(dir, "tokenizer.json"),
      (j) => ((j.model as { vocab: Record<string, number> }).vocab["<unk>"] = -5),
    );
    await loadError(dir, "ERR_WENXIN_TOKENIZER", "tokenizer.json", "model.vocab");
  });

  it.each([
    ["truncated", (b: Buffer) => b.subarray(0, 5000)],
    [
      "a length past the end",
      (b: Buffer) => Buffer.concat([Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]), b.subarray(0, 64)]),
    ],
    ["random bytes", (b: Buffer) => Buffer.from(b.map((x, i) => (i % 7 === 0 ? x ^ 0x5a : x)))],
  ])("tokenizer.model (no tokenizer.json): %s", async (_label, corrupt) => {
    const dir = copy();
    unlinkSync(path.join(dir, "tokenizer.json"));
    const file = path.join(dir, "tokenizer.model");
    writeFileSync(file, corrupt(readFileSync(file)));
    await loadError(dir, "ERR_WENXIN_TOKENIZER", "tokenizer.model");
  });
});
