// @wenxin/native is an optional dependency: with no addon to load, @wenxin/engine imports, the pure-TS
// parts (tokenizer, chat template, output parser) work, and a local model fails with a typed error that
// says why. The absence is simulated by pointing WENXIN_NATIVE_PATH at a file that does not exist (the
// loader then tries nothing else); CI's install test also runs remote mode from an install without the
// package (test/install/run.sh).
import os from "node:os";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

const missing = path.join(os.tmpdir(), "wenxin-no-such-addon", "wenxin_native.node");
process.env.WENXIN_NATIVE_PATH = missing;
// Imported only now, so an import that loaded the addon eagerly would throw here.
const { ChatTemplate, Engine, WenxinError, WenxinTokenizer, systemInfo } = await import("@wenxin/engine");
const { ChatOutputParser } = await import("@wenxin/engine/internal");

async function expectNativeUnavailable(run: () => unknown) {
  const err = await Promise.resolve()
    .then(run)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(WenxinError);
  expect((err as InstanceType<typeof WenxinError>).code).toBe("ERR_WENXIN_NATIVE_UNAVAILABLE");
  // The loader's own account: which path it tried and what would fix it.
  expect((err as Error).message).toContain(`WENXIN_NATIVE_PATH (${missing}): not found`);
  expect((err as Error).message).toContain("unset WENXIN_NATIVE_PATH");
}

describe("@wenxin/engine without the native addon", () => {
  it("tokenizes and renders the chat template in TypeScript alone", async () => {
    const tokenizer = await WenxinTokenizer.fromDirectory(DENSE_DIR);
    const ids = tokenizer.encode("你好，文心");
    expect(ids.length).toBeGreaterThan(0);
    expect(tokenizer.decode(ids)).toBe("你好，文心");
    const template = await ChatTemplate.fromDirectory(DENSE_DIR, tokenizer);
    expect(template.render([{ role: "user", content: "你好" }], { addGenerationPrompt: true })).toContain("你好");
  });

  it("parses ERNIE's tool-call markup", () => {
    const parser = new ChatOutputParser({ newToolCallId: () => "call_0" });
    parser.push('<tool_call>\n{"name": "get_weather", "arguments": {"city": "北京"}}\n</tool_call>');
    parser.finish();
    expect(parser.result().toolCalls).toEqual([
      { index: 0, id: "call_0", name: "get_weather", arguments: { city: "北京" } },
    ]);
  });

  it("fails a local model with ERR_WENXIN_NATIVE_UNAVAILABLE, not a crash", async () => {
    await expectNativeUnavailable(() => Engine.load(DENSE_DIR));
    await expectNativeUnavailable(() => systemInfo());
  });
});
