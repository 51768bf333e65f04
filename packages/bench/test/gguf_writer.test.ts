// Our GGUF writer (@wenxin/engine), read back by node-llama-cpp's own GGUF parser (an independent implementation).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, describe, expect, it } from "vitest";

import { encodeGgufTensor as encodeTensor, fromF16Bits, writeGguf } from "@wenxin/engine/internal";

const dir = mkdtempSync(path.join(os.tmpdir(), "wenxin-gguf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("writeGguf", () => {
  it("writes metadata and tensor infos that llama.cpp's reader accepts", async () => {
    const file = path.join(dir, "t.gguf");
    const values = Float32Array.from({ length: 64 * 3 }, (_, i) => Math.sin(i));
    writeGguf(
      file,
      {
        "general.architecture": { type: "string", value: "ernie4_5" },
        "ernie4_5.block_count": { type: "u32", value: 1 },
        "ernie4_5.rope.freq_base": { type: "f32", value: 500000 },
        "tokenizer.ggml.tokens": { type: "string[]", value: ["<unk>", "a", "b"] },
      },
      [
        { name: "blk.0.attn_q.weight", shape: [3, 64], type: "Q8_0", values: () => values },
        { name: "blk.0.attn_k.weight", shape: [3, 64], type: "Q4_0", values: () => values },
        { name: "output_norm.weight", shape: [64], type: "F32", values: () => values.slice(0, 64) },
      ],
    );
    const info = await readGgufFileInfo(file, { readTensorInfo: true });
    expect(info.version).toBe(3);
    expect(info.metadata.general.architecture).toBe("ernie4_5");
    expect((info.metadata as Record<string, any>).ernie4_5.block_count).toBe(1);
    expect((info.metadata as Record<string, any>).tokenizer.ggml.tokens).toEqual(["<unk>", "a", "b"]);
    const tensors = info.fullTensorInfo!;
    expect(tensors.map((t) => t.name)).toEqual(["blk.0.attn_q.weight", "blk.0.attn_k.weight", "output_norm.weight"]);
    expect(tensors[0]!.dimensions.map(Number)).toEqual([64, 3]); // innermost first
    expect(tensors.map((t) => t.ggmlType)).toEqual([8, 2, 0]);
  });

  it("quantizes Q8_0 and Q4_0 blocks as llama.cpp lays them out", () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => (i - 16) / 8);
    const q8 = encodeTensor("Q8_0", x);
    expect(q8.length).toBe(34);
    const d8 = fromF16Bits(q8.readUInt16LE(0));
    for (let i = 0; i < 32; i++) expect(Math.abs(q8.readInt8(2 + i) * d8 - x[i]!)).toBeLessThanOrEqual(d8 * 0.51);
    const q4 = encodeTensor("Q4_0", x);
    expect(q4.length).toBe(18);
    const d4 = fromF16Bits(q4.readUInt16LE(0));
    for (let j = 0; j < 16; j++) {
      const lo = (q4[2 + j]! & 0x0f) - 8,
        hi = (q4[2 + j]! >> 4) - 8;
      expect(Math.abs(lo * d4 - x[j]!)).toBeLessThanOrEqual(Math.abs(d4) / 2 + 1e-6);
      expect(Math.abs(hi * d4 - x[j + 16]!)).toBeLessThanOrEqual(Math.abs(d4) / 2 + 1e-6);
    }
  });
});
