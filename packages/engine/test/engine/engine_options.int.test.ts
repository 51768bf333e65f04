// The native engine options (native/include/wenxin/engine_options.h): every one given by the
// caller (the defaults are LOAD_DEFAULTS alone), checked before a single weight file is opened, and
// the engine's own statistics (constrained decoding included) reported through stats(), never
// through files.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine, LOAD_DEFAULTS, WenxinError } from "../../src/index.js";
import { nativeEngineOptions } from "../../src/engine.js";
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
    .loadEngine(
      hparams,
      files,
      { ...nativeEngineOptions({ threads: 1 }, 4096), ...opts } as NativeEngineOptions,
      () => {},
    )
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
    [{ maxSequences: -1 }, /maxSequences must be >= 1/],
    [{ maxSequences: 0 }, /maxSequences must be >= 1/],
    [{ kvCacheTokens: 0, kvCacheBytes: 0 }, /kvCacheBytes or kvCacheTokens must be given/],
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

  it("an absent option is refused, naming it: the native side has no defaults of its own", () => {
    for (const key of [
      "maxContext",
      "maxSequences",
      "maxBatchTokens",
      "kvCache",
      "prefixCaching",
      "weights",
    ] as const) {
      const { [key]: _dropped, ...rest } = nativeEngineOptions({ threads: 1 }, 4096);
      expect(() =>
        nativeAddon().loadEngine(hparams, ["/nonexistent/model.safetensors"], rest as NativeEngineOptions, () => {}),
      ).toThrow(new RegExp(`engine option '${key}' is missing`));
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
  it("Engine.load without options gets LOAD_DEFAULTS: context, KV budget of kvCacheContexts contexts, f32 KV", async () => {
    const engine = await Engine.load(DENSE_DIR, { threads: 1 });
    try {
      const s = engine.stats();
      expect(engine.maxContext).toBe(Math.min(LOAD_DEFAULTS.maxContext, hparams.maxPositionEmbeddings));
      expect(s.kvBlocksTotal * s.kvBlockTokens).toBe(LOAD_DEFAULTS.kvCacheContexts * engine.maxContext);
      expect(s.kvCache).toBe(LOAD_DEFAULTS.kvCache);
    } finally {
      await engine.close();
    }
  });

  it("maxSequences without a KV budget gives one context per sequence", () => {
    expect(nativeEngineOptions({ maxSequences: 3 }, 256)).toMatchObject({ maxSequences: 3, kvCacheTokens: 768 });
    expect(nativeEngineOptions({ kvCacheBytes: 1 << 20 }, 256)).toMatchObject({
      kvCacheBytes: 1 << 20,
      kvCacheTokens: 0,
    });
    expect(() => nativeEngineOptions({ maxSequences: 2 ** 40 }, 2 ** 20)).toThrow(/impossibly large/);
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
