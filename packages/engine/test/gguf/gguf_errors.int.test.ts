// Bad GGUF files fail with typed errors that name the problem: another architecture, a tensor type
// we cannot read, a truncated file, a missing or misshapen tensor, a file that is not GGUF at all.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { nativeEngineOptions } from "../../src/engine.js";
import { fromNativeError } from "../../src/errors.js";
import { WenxinError } from "../../src/index.js";
import { loadErrorOf } from "../../../../test/helpers/errors.js";
import {
  loadGgufModel,
  prepareGgufConversion,
  readGgufFile,
  writeGguf,
  type GgufConversion,
} from "../../src/internal.js";
import { nativeAddon } from "../../src/native/binding.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-gguf-err-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let base: GgufConversion;
const good = path.join(tmp, "good.gguf");
beforeAll(async () => {
  base = await prepareGgufConversion(DENSE_DIR, "f32");
  writeGguf(good, base.metadata, base.tensors);
});

describe("GGUF load errors", () => {
  it("rejects an architecture other than ernie4_5 / ernie4_5-moe", async () => {
    const file = path.join(tmp, "llama.gguf");
    const metadata = { ...base.metadata, "general.architecture": { type: "string" as const, value: "llama" } };
    writeGguf(file, metadata, base.tensors);
    const err = await loadErrorOf(file);
    expect(err.code).toBe("ERR_WENXIN_UNKNOWN_ARCHITECTURE");
    expect(err.message).toContain("'llama'");
  });

  it("rejects a tensor type it cannot read, naming the tensor and the type", async () => {
    const file = path.join(tmp, "iq4.gguf");
    // IQ4_NL has Q4_0's block size (18 bytes per 32 values): valid bytes, unsupported type.
    const tensors = base.tensors.map((t) =>
      t.name === "blk.2.ffn_up.weight"
        ? {
            name: t.name,
            shape: t.shape,
            ggmlType: 20,
            bytes: (t.shape[0]! * t.shape[1]! * 18) / 32,
            data: () => new Uint8Array((t.shape[0]! * t.shape[1]! * 18) / 32),
          }
        : t,
    );
    writeGguf(file, base.metadata, tensors);
    const err = await loadErrorOf(file);
    expect(err.code).toBe("ERR_WENXIN_UNSUPPORTED_DTYPE");
    expect(err.message).toContain("blk.2.ffn_up.weight");
    expect(err.message).toContain("IQ4_NL");
  });

  it("rejects a truncated file, naming the first tensor past its end", async () => {
    const file = path.join(tmp, "truncated.gguf");
    copyFileSync(good, file);
    const info = readGgufFile(good);
    const last = info.tensors.at(-1)!;
    truncateSync(file, last.offset + 100);
    const err = await loadErrorOf(file);
    expect(err.code).toBe("ERR_WENXIN_INVALID_FILE");
    expect(err.message).toContain(`'${last.name}'`);
    expect(err.message).toContain("truncated");
  });

  it("is bounds-checked by the native reader too (called directly, past the JS checks)", async () => {
    const file = path.join(tmp, "truncated-native.gguf");
    copyFileSync(good, file);
    const { hparams } = loadGgufModel(good).config;
    const info = readGgufFile(good);
    const victim = info.tensors[info.tensors.length - 2]!;
    truncateSync(file, victim.offset + 8);
    const err = await nativeAddon()
      .loadEngine(
        hparams,
        [file],
        nativeEngineOptions({ threads: 1, maxBatchTokens: 64, prefixCaching: false }, 64),
        () => {},
      )
      .then(
        (e) => e.close(),
        (e: unknown) => fromNativeError(e),
      );
    expect(err).toBeInstanceOf(WenxinError);
    expect((err as WenxinError).code).toBe("ERR_WENXIN_INVALID_FILE");
    expect((err as WenxinError).message).toContain(`'${victim.name}'`);
  });

  it("rejects a file cut inside its header", async () => {
    const file = path.join(tmp, "header.gguf");
    writeFileSync(file, readFileSync(good).subarray(0, 5000));
    const err = await loadErrorOf(file);
    expect(err.code).toBe("ERR_WENXIN_INVALID_FILE");
    expect(err.message).toMatch(/truncated\?/);
  });

  it("rejects a file that is not GGUF", async () => {
    const file = path.join(tmp, "not.gguf");
    writeFileSync(file, "this is not a model");
    const err = await loadErrorOf(file);
    expect(err.code).toBe("ERR_WENXIN_INVALID_FILE");
    expect(err.message).toContain("GGUF");
  });

  it("names a missing tensor by its GGUF name", async () => {
    const file = path.join(tmp, "missing.gguf");
    writeGguf(
      file,
      base.metadata,
      base.tensors.filter((t) => t.name !== "blk.1.attn_k.weight"),
    );
    const err = await loadErrorOf(file);
    expect(err.code).toBe("ERR_WENXIN_MISSING_TENSOR");
    expect(err.message).toContain("'blk.1.attn_k.weight'");
  });

  it("names a misshapen tensor by its GGUF name", async () => {
    const file = path.join(tmp, "shape.gguf");
    const tensors = base.tensors.map((t) =>
      t.name === "blk.3.attn_v.weight"
        ? {
            ...t,
            shape: [t.shape[0]! / 2, t.shape[1]!],
            values: () => t.values().subarray(0, (t.shape[0]! / 2) * t.shape[1]!),
          }
        : t,
    );
    writeGguf(file, base.metadata, tensors);
    const err = await loadErrorOf(file);
    expect(err.code).toBe("ERR_WENXIN_SHAPE_MISMATCH");
    expect(err.message).toContain("'blk.3.attn_v.weight'");
  });

  it("reports a missing file as FILE_NOT_FOUND", async () => {
    const err = await loadErrorOf(path.join(tmp, "nope.gguf"));
    expect(err.code).toBe("ERR_WENXIN_FILE_NOT_FOUND");
  });
});
