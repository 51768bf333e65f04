// A streaming request that has to wait for an engine slot gets its headers and SSE comments while
// it waits, so clients and proxies see it alive; the OpenAI client reads through the comments.
import OpenAI from "openai";
import { describe, expect, it } from "vitest";

import { ApiError } from "../src/errors.js";
import { MODEL_ID, postJson, sseData, startPost, useDenseServer } from "./helpers/test_server.js";

const ctx = useDenseServer({ maxConcurrency: 1, sseKeepAliveMs: 50 });

/** Holds the only slot until the returned promise settles. */
async function holdTheSlot(): Promise<{ done: Promise<number> }> {
  const done = postJson(`${ctx.srv.baseURL}/completions`, {
    model: MODEL_ID,
    prompt: "hold",
    max_tokens: 1500,
    temperature: 0,
  }).then(() => performance.now());
  await expect.poll(() => ctx.srv.server.model.admission.running).toBe(1);
  return { done };
}

describe("SSE keep-alive", () => {
  it("opens a queued stream at once and sends comments until its turn", async () => {
    const { done } = await holdTheSlot();
    const res = await startPost(`${ctx.srv.baseURL}/chat/completions`, {
      model: MODEL_ID,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 3,
      stream: true,
    });
    const headersAt = performance.now();
    expect(res.status).toBe(200);
    expect(ctx.srv.server.model.admission.queued).toBe(1);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    let firstCommentAt: number | undefined;
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      text += decoder.decode(value, { stream: true });
      if (firstCommentAt === undefined && text.startsWith(": keep-alive\n\n")) firstCommentAt = performance.now();
    }
    const heldUntil = await done;
    expect(headersAt).toBeLessThan(heldUntil);
    expect(firstCommentAt).toBeDefined();
    expect(firstCommentAt!).toBeLessThan(heldUntil);
    const frames = sseData(text);
    expect(frames.at(-1)).toBe("[DONE]");
    expect(JSON.parse(frames[0]!).choices[0].delta.role).toBe("assistant");
  });

  it("is read through by the OpenAI client", async () => {
    const client = new OpenAI({ baseURL: ctx.srv.baseURL, apiKey: "unused", maxRetries: 0 });
    const { done } = await holdTheSlot();
    const stream = await client.chat.completions.create({
      model: MODEL_ID,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 3,
      temperature: 0,
      stream: true,
    });
    const finishes: (string | null)[] = [];
    for await (const chunk of stream) finishes.push(chunk.choices[0]?.finish_reason ?? null);
    await done;
    expect(finishes.at(-1)).toBe("length");
  });

  it("sends a failure after the headers as an error event", async () => {
    const { done } = await holdTheSlot();
    const res = await startPost(`${ctx.srv.baseURL}/completions`, {
      model: MODEL_ID,
      prompt: "x",
      max_tokens: 2,
      stream: true,
    });
    expect(res.status).toBe(200);
    // The server drains while the request waits: it is refused inside the stream it already opened.
    ctx.srv.server.model.admission.rejectWaiting(
      new ApiError(503, "service_unavailable_error", "the server is shutting down", "server_draining"),
    );
    const text = await res.text();
    await done;
    const frames = sseData(text);
    expect(frames.at(-1)).toBe("[DONE]");
    expect(JSON.parse(frames.at(-2)!).error.code).toBe("server_draining");
  });
});
