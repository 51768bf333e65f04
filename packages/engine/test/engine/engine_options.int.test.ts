// The native engine options (native/include/wenxin/engine_options.h): checked before a single
// weight file is opened, with their defaults kept in the C++ struct alone, and the engine's own
// statistics (constrained decoding included) reported through stats(), never through files.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine, LOAD_DEFAULTS, WenxinError } from "../../src/index.js";
import { fromNativeError } from "../../src/errors.js";
import { loadModelConfig } from "../../src/model/config.js";
import { nativeAddon } from "../../src/native/binding.js";
import type { NativeEngineOptions, NativeHparams } from "../../src/native/addon_types.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

let hparams: NativeHparams;
beforeAll(async () => {
  hparams = (await loadModelConfig(DENSE_DIR)).hparams;
});

/** The native load's error with options `opts` and weight files that do not exist. */
async function nativeLoadError(opts: Partial<NativeEngineOptions>, files = ["/nonexistent/model.safetensors"]) {
  return nativeAddon()
    .loadEngine(hparams, files, opts as NativeEngineOptions, () => {})
    .then(
      (e) => {
        e.close();
        throw new Error("load should have failed");
      },
      (e: unknown) => fromNativeError(e),
    );
}

describe("native engine options", () => {
  it.each([
    [{ maxBatchTokens: 0 }, /maxBatchTokens must be >= 1/],
    [{ maxSequences: -1 }, /maxSequences/],
    [{ kvCacheTokens: 8 }, /KV cache budget holds 8 tokens, less than one block/],
    [{ kvCacheBytes: 1000 }, /KV cache budget holds 0 tokens/],
    [{ maxContext: 0 }, /maxContext must be >= 1/],
    [{ threads: 0 }, /threads must be in 1\.\.1024/],
  ])("%o is refused before the weights are opened", async (opts, message) => {
    const err = await nativeLoadError({ threads: 1, ...opts });
    expect(err).toBeInstanceOf(WenxinError);
    expect(err.code).toBe("ERR_WENXIN_INVALID_ARGUMENT");
    expect(err.message).toMatch(message);
  });

  it("valid options get as far as the weight files", async () => {
    const err = await nativeLoadError({ threads: 1 });
    expect(err.code).toBe("ERR_WENXIN_FILE_NOT_FOUND");
  });

  it("absent options take the native defaults (context 4096, KV budget 4 × context, 128 running)", async () => {
    const engine = await nativeAddon().loadEngine(
      hparams,
      [`${DENSE_DIR}/model.safetensors`],
      { threads: 1 } as NativeEngineOptions,
      () => {},
    );
    try {
      const s = engine.stats();
      expect(s.kvBlocksTotal * s.kvBlockTokens).toBe(4 * 4096);
      expect(s.kvCache).toBe("f32");
    } finally {
      engine.close();
    }
  });
});

describe("engine statistics", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512 });
  });
  afterAll(() => engine.close());

  it("count constrained decoding: requests, masked tokens, time masking and matching", async () => {
    const before = engine.stats();
    expect(before).toMatchObject({ constrainedRequests: 0, constrainedTokens: 0 });
    const result = await engine
      .generate({
        prompt: "Answer in JSON:",
        maxNewTokens: 24,
        temperature: 0,
        constraint: { type: "json_schema", schema: { type: "object", properties: { a: { type: "integer" } } } },
      })
      .result();
    await engine.generate({ prompt: "Hello", maxNewTokens: 4, temperature: 0 }).result();
    const after = engine.stats();
    expect(after.constrainedRequests).toBe(1);
    // One mask per sampled token of the constrained request (a value that completes early ends it).
    expect(after.constrainedTokens).toBeGreaterThanOrEqual(result.tokenIds.length);
    expect(after.constrainedTokens).toBeLessThanOrEqual(result.tokenIds.length + 1);
    expect(after.constraintMaskMs).toBeGreaterThan(0);
    expect(after.constraintAdvanceMs).toBeGreaterThan(0);
  });
});

describe("load defaults and the chat template option", () => {
  it("LOAD_DEFAULTS, the TypeScript side's defaults, give what the native struct's give", async () => {
    const native = await nativeAddon().loadEngine(
      hparams,
      [`${DENSE_DIR}/model.safetensors`],
      { threads: 1 } as NativeEngineOptions,
      () => {},
    );
    const engine = await Engine.load(DENSE_DIR, { threads: 1 });
    try {
      const [a, b] = [native.stats(), engine.stats()];
      expect(b.kvBlocksTotal * b.kvBlockTokens).toBe(a.kvBlocksTotal * a.kvBlockTokens);
      expect(b.kvCache).toBe(a.kvCache);
      expect(b.kvCache).toBe(LOAD_DEFAULTS.kvCache);
      expect(engine.maxContext).toBe(Math.min(LOAD_DEFAULTS.maxContext, hparams.maxPositionEmbeddings));
      expect(b.kvBlocksTotal * b.kvBlockTokens).toBe(LOAD_DEFAULTS.kvCacheContexts * engine.maxContext);
    } finally {
      native.close();
      await engine.close();
    }
  });

  it("a chatTemplate replaces the checkpoint's template; a bad one fails the load", async () => {
    const engine = await Engine.load(DENSE_DIR, {
      threads: 1,
      chatTemplate: "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}",
    });
    try {
      expect(engine.applyChatTemplate([{ role: "user", content: "hi" }])).toBe("[user] hi\n");
    } finally {
      await engine.close();
    }
    await expect(Engine.load(DENSE_DIR, { threads: 1, chatTemplate: "{% for %}" })).rejects.toMatchObject({
      code: "ERR_WENXIN_CHAT_TEMPLATE",
    });
  });
});
