// The checkpoint readers' cost is bounded by the file, not by what its header claims: the
// safetensors duplicate-name check is O(n log n) over the header's entries, and a GGUF metadata
// array is sized only after its element count fits the bytes left in the file.
import { rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { Engine, WenxinError } from "../../packages/engine/src/index.js";
import { readGgufFile } from "../../packages/engine/src/internal.js";
import { copyModelDir, editSafetensorsHeader } from "../helpers/checkpoint.js";
import { DENSE_DIR } from "../helpers/fixtures.js";

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("safetensors header", () => {
  it("finds a duplicate name among 200,000 entries in linearithmic time", async () => {
    const dir = copyModelDir(DENSE_DIR);
    temps.push(dir);
    const file = path.join(dir, "model.safetensors");
    // Empty tensors cost no data; the duplicate is written last (JSON.stringify could not keep it).
    const extra: string[] = [];
    for (let i = 0; i < 200_000; i++) extra.push(`"pad.${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
    extra.push(`"pad.7":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
    editSafetensorsHeader(file, (json) => `${json.slice(0, -1)},${extra.join(",")}}`);

    const started = performance.now();
    const err = await Engine.load(dir, { threads: 1 }).then(
      async (e) => {
        await e.close();
        return new Error("loaded a header with a duplicate name");
      },
      (e: unknown) => e,
    );
    const seconds = (performance.now() - started) / 1000;
    expect(err).toBeInstanceOf(WenxinError);
    expect((err as WenxinError).code).toBe("ERR_WENXIN_INVALID_FILE");
    expect((err as WenxinError).message).toContain("tensor 'pad.7' appears twice in its header");
    // A pairwise check takes minutes here (2e10 comparisons); a sorted or hashed one well under a second.
    expect(seconds).toBeLessThan(20);
  });
});

describe("GGUF metadata", () => {
  /** A GGUF v3 file with one array-valued key of `count` `elemType` elements, then `pad` zero bytes. */
  function ggufWithArray(elemType: number, count: number, pad: number): string {
    const key = Buffer.from("tokenizer.ggml.scores");
    const head = Buffer.alloc(4 + 4 + 8 + 8 + 8 + key.length + 4 + 4 + 8);
    let o = head.write("GGUF", 0, "latin1");
    o = head.writeUInt32LE(3, o);
    o = head.writeBigUInt64LE(0n, o); // tensors
    o = head.writeBigUInt64LE(1n, o); // metadata keys
    o = head.writeBigUInt64LE(BigInt(key.length), o);
    o += key.copy(head, o);
    o = head.writeUInt32LE(9, o); // array
    o = head.writeUInt32LE(elemType, o);
    head.writeBigUInt64LE(BigInt(count), o);
    const file = path.join(os.tmpdir(), `wenxin-gguf-array-${process.pid}-${elemType}-${count}.gguf`);
    writeFileSync(file, Buffer.concat([head, Buffer.alloc(pad)]));
    temps.push(file);
    return file;
  }

  it("refuses an array whose elements cannot fit in the rest of the file, before sizing it", () => {
    // 600 u64 elements claimed, 1000 bytes left: 4800 bytes would be needed.
    expect(() => readGgufFile(ggufWithArray(10, 600, 1000))).toThrow(
      expect.objectContaining({
        code: "ERR_WENXIN_INVALID_FILE",
        message: expect.stringContaining(
          "'tokenizer.ggml.scores' claims 600 elements of at least 8 bytes, more than the 1000 bytes left",
        ),
      }),
    );
    // Strings take at least their 8-byte length each.
    expect(() => readGgufFile(ggufWithArray(8, 200, 1000))).toThrow(/claims 200 elements of at least 8 bytes/);
  });

  it("reads an array that fits", () => {
    const f = readGgufFile(ggufWithArray(10, 125, 1000));
    expect(f.metadata.get("tokenizer.ggml.scores")).toHaveLength(125);
  });
});
