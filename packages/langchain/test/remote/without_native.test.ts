// Remote mode needs no native code: with no addon to load (WENXIN_NATIVE_PATH points at a file that does
// not exist), ChatWenxin streams from an OpenAI-compatible server, and only a local model fails, with a
// typed error. CI's install test runs the same from an install of @wenxin/langchain with --omit=optional.
import os from "node:os";
import path from "node:path";

import type { AIMessageChunk } from "@langchain/core/messages";
import { http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";
import { answerStream, BASE_URL, MODEL, sse } from "../../../../test/helpers/vllm_responses.js";

process.env.WENXIN_NATIVE_PATH = path.join(os.tmpdir(), "wenxin-no-such-addon", "wenxin_native.node");
// Imported only now, so an import that loaded the addon eagerly would throw here.
const { ChatWenxin } = await import("../../src/index.js");
const { WenxinError } = await import("@wenxin/engine");

const server = setupServer(http.post(`${BASE_URL}/chat/completions`, () => sse(answerStream)));
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterAll(() => server.close());

describe("ChatWenxin without the native addon", () => {
  it("streams from a remote server", async () => {
    const model = new ChatWenxin({ model: MODEL, baseUrl: BASE_URL, maxRetries: 0 });
    const chunks: AIMessageChunk[] = [];
    for await (const c of await model.stream("你好")) chunks.push(c);
    expect(chunks.map((c) => c.content).join("")).toBe("Hello! 你好。");
  });

  it("fails a local model with ERR_WENXIN_NATIVE_UNAVAILABLE", async () => {
    const local = new ChatWenxin({ model: DENSE_DIR, maxTokens: 4 });
    const err = await local.invoke("你好").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WenxinError);
    expect((err as InstanceType<typeof WenxinError>).code).toBe("ERR_WENXIN_NATIVE_UNAVAILABLE");
  });
});
