// Raw HTTP against the server: SSE framing and every error status, with OpenAI-shaped bodies
// that never carry a stack trace.
import { describe, expect, it } from "vitest";

import { type ChatMessage, Engine } from "@wenxin/engine";

import { DENSE_DIR } from "../../../test/helpers/fixtures.js";
import { MODEL_ID, postJson, sseData, startTestServer, useDenseServer } from "./helpers/test_server.js";

const MESSAGES: ChatMessage[] = [{ role: "user", content: "你好" }];
const chat = (extra: Record<string, unknown> = {}) => ({
  model: MODEL_ID,
  messages: MESSAGES,
  max_tokens: 4,
  temperature: 0,
  ...extra,
});

const ctx = useDenseServer();

/** Every error body is exactly OpenAI's shape, and says nothing about our internals. */
function expectErrorBody(res: { json: any; text: string }, code: string | null, param?: string | null) {
  expect(Object.keys(res.json)).toEqual(["error"]);
  expect(Object.keys(res.json.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(res.json.error.code).toBe(code);
  if (param !== undefined) expect(res.json.error.param).toBe(param);
  expect(res.json.error.message.length).toBeGreaterThan(0);
  expect(res.text).not.toMatch(/\n\s+at |\.ts:\d+|\/work\//);
}

describe("SSE framing", () => {
  it("streams chat chunks as data frames ending in [DONE]", async () => {
    const res = await postJson(`${ctx.srv.baseURL}/chat/completions`, chat({ stream: true, max_tokens: 5 }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const frames = sseData(res.text);
    expect(frames.at(-1)).toBe("[DONE]");
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f));
    for (const c of chunks) {
      expect(c).toMatchObject({ object: "chat.completion.chunk", model: MODEL_ID });
      expect(c).not.toHaveProperty("usage"); // only with stream_options.include_usage
    }
    expect(chunks[0].choices[0]).toEqual({
      index: 0,
      delta: { role: "assistant", content: "" },
      logprobs: null,
      finish_reason: null,
    });
    expect(chunks.at(-1).choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: "length" });
    const whole = await postJson(`${ctx.srv.baseURL}/chat/completions`, chat({ max_tokens: 5 }));
    expect(chunks.map((c) => c.choices[0].delta.content ?? "").join("")).toBe(whole.json.choices[0].message.content);
  });

  it("streams every choice of n under its own index", async () => {
    const res = await postJson(
      `${ctx.srv.baseURL}/chat/completions`,
      chat({ stream: true, n: 2, temperature: 1, seed: 3, max_tokens: 4 }),
    );
    const chunks = sseData(res.text)
      .slice(0, -1)
      .map((f) => JSON.parse(f));
    const whole = await postJson(
      `${ctx.srv.baseURL}/chat/completions`,
      chat({ n: 2, temperature: 1, seed: 3, max_tokens: 4 }),
    );
    for (const index of [0, 1]) {
      const mine = chunks.filter((c) => c.choices[0].index === index);
      expect(mine[0].choices[0].delta.role).toBe("assistant");
      expect(mine.filter((c) => c.choices[0].finish_reason).map((c) => c.choices[0].finish_reason)).toEqual(["length"]);
      expect(mine.map((c) => c.choices[0].delta.content ?? "").join("")).toBe(
        whole.json.choices[index].message.content,
      );
    }
  });

  it("reads text content parts like the same text in a string", async () => {
    const parts = await postJson(
      `${ctx.srv.baseURL}/chat/completions`,
      chat({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "你" },
              { type: "text", text: "好" },
            ],
          },
        ],
      }),
    );
    const plain = await postJson(
      `${ctx.srv.baseURL}/chat/completions`,
      chat({ messages: [{ role: "user", content: "你\n好" }] }),
    );
    expect(parts.status).toBe(200);
    expect(parts.json.usage).toEqual(plain.json.usage);
    expect(parts.json.choices[0].message.content).toBe(plain.json.choices[0].message.content);
  });

  it("streams completions the same way", async () => {
    const res = await postJson(`${ctx.srv.baseURL}/completions`, {
      model: MODEL_ID,
      prompt: "hello",
      max_tokens: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
    const frames = sseData(res.text);
    expect(frames.at(-1)).toBe("[DONE]");
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f));
    expect(chunks.every((c) => c.object === "text_completion")).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 3 } });
    expect(chunks.at(-2).choices[0].finish_reason).toBe("length");
  });
});

describe("400: malformed or out of range", () => {
  const cases: [string, unknown, string | null, string][] = [
    ["invalid JSON", "{not json", null, "invalid_json"],
    ["a JSON array", "[1,2]", null, "invalid_json"],
    ["no messages", { model: MODEL_ID }, "messages", "missing_required_parameter"],
    ["empty messages", { model: MODEL_ID, messages: [] }, "messages", "invalid_value"],
    ["an unknown role", chat({ messages: [{ role: "robot", content: "x" }] }), "messages[0].role", "invalid_value"],
    ["temperature above 2", chat({ temperature: 2.5 }), "temperature", "invalid_value"],
    ["top_p above 1", chat({ top_p: 1.5 }), "top_p", "invalid_value"],
    ["max_tokens 0", chat({ max_tokens: 0 }), "max_tokens", "invalid_value"],
    ["n of 0", chat({ n: 0 }), "n", "invalid_value"],
    ["a string for stream", chat({ stream: "yes" }), "stream", "invalid_value"],
    [
      "an image part",
      chat({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://x" } }] }] }),
      "messages[0].content[0].type",
      "invalid_value",
    ],
    ["top_logprobs without logprobs", chat({ top_logprobs: 2 }), "top_logprobs", "invalid_value"],
    ["presence_penalty", chat({ presence_penalty: 0.5 }), "presence_penalty", "unsupported_parameter"],
    ["max_tokens beyond the context", chat({ max_tokens: 10_000 }), "max_tokens", "context_length_exceeded"],
    [
      "a forced tool that is not given",
      chat({
        tools: [{ type: "function", function: { name: "a" } }],
        tool_choice: { type: "function", function: { name: "b" } },
      }),
      "tool_choice",
      "invalid_value",
    ],
    [
      "json_schema without a schema",
      chat({ response_format: { type: "json_schema", json_schema: { name: "x" } } }),
      "response_format",
      "invalid_value",
    ],
  ];
  it.each(cases)("refuses %s", async (_name, body, param, code) => {
    const res = await postJson(`${ctx.srv.baseURL}/chat/completions`, body);
    expect(res.status).toBe(400);
    expectErrorBody(res, code, param);
    expect(res.json.error.type).toBe("invalid_request_error");
  });

  it("refuses a prompt longer than the context", async () => {
    const long = await Engine.load(DENSE_DIR, { threads: 1, maxContext: 32 });
    const small = await startTestServer(long);
    try {
      const res = await postJson(`${small.baseURL}/completions`, { model: MODEL_ID, prompt: "word ".repeat(100) });
      expect(res.status).toBe(400);
      expectErrorBody(res, "context_length_exceeded");
      const emb = await postJson(`${small.baseURL}/embeddings`, { model: MODEL_ID, input: "word ".repeat(100) });
      expect(emb.status).toBe(400);
      expectErrorBody(emb, "context_length_exceeded");
    } finally {
      await small.stop();
      await long.close();
    }
  });

  it("reads JSON whatever the content type (curl -d sends form encoding)", async () => {
    const res = await fetch(`${ctx.srv.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: JSON.stringify(chat()),
    });
    expect(res.status).toBe(200);
    expect((await res.json()).object).toBe("chat.completion");
  });
});

describe("401, 404, 413", () => {
  it("requires the API key on the API routes, not on /health", async () => {
    const keyed = await startTestServer(ctx.engine, { apiKey: "sekret" });
    try {
      const none = await postJson(`${keyed.baseURL}/chat/completions`, chat());
      expect(none.status).toBe(401);
      expectErrorBody(none, "invalid_api_key");
      const wrong = await postJson(`${keyed.baseURL}/chat/completions`, chat(), { authorization: "Bearer nope" });
      expect(wrong.status).toBe(401);
      const right = await postJson(`${keyed.baseURL}/chat/completions`, chat(), { authorization: "Bearer sekret" });
      expect(right.status).toBe(200);
      expect((await fetch(`${keyed.url}/health`)).status).toBe(200);
      expect((await fetch(`${keyed.baseURL}/models`)).status).toBe(401);
    } finally {
      await keyed.stop();
    }
  });

  it("answers 404 for an unknown model on every endpoint, and for an unknown route", async () => {
    for (const [path, body] of [
      ["chat/completions", chat({ model: "gpt-4o" })],
      ["completions", { model: "gpt-4o", prompt: "x" }],
      ["embeddings", { model: "gpt-4o", input: "x" }],
    ] as const) {
      const res = await postJson(`${ctx.srv.baseURL}/${path}`, body);
      expect(res.status).toBe(404);
      expectErrorBody(res, "model_not_found", "model");
    }
    const route = await postJson(`${ctx.srv.baseURL}/chat/complete`, chat());
    expect(route.status).toBe(404);
    expectErrorBody(route, "unknown_url");
    expect((await fetch(`${ctx.srv.url}/nothing-here`)).status).toBe(404);
  });

  it("answers 413 for a body over the limit", async () => {
    const res = await postJson(
      `${ctx.srv.baseURL}/chat/completions`,
      chat({ messages: [{ role: "user", content: "x".repeat(5 * 1024 * 1024) }] }),
    );
    expect(res.status).toBe(413);
    expectErrorBody(res, "request_too_large");
  });
});

describe("429 and 503", () => {
  it("answers 429 when the queue is full, and queues up to its limit", async () => {
    const busy = await startTestServer(ctx.engine, { maxConcurrency: 1, maxQueue: 1 });
    const long = new AbortController();
    try {
      const first = await fetch(`${busy.baseURL}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(chat({ stream: true, max_tokens: 3000 })),
        signal: long.signal,
      });
      expect(first.status).toBe(200);
      const queued = postJson(`${busy.baseURL}/chat/completions`, chat());
      await expect.poll(() => busy.server.model.admission.queued, { timeout: 5000 }).toBe(1);
      const refused = await postJson(`${busy.baseURL}/chat/completions`, chat());
      expect(refused.status).toBe(429);
      expectErrorBody(refused, "queue_full");
      expect(refused.json.error.type).toBe("rate_limit_error");
      long.abort();
      expect((await queued).status).toBe(200);
    } finally {
      long.abort();
      await busy.stop();
    }
  });

  it("answers 503 while the model loads, then serves", async () => {
    let finishLoading!: (e: Engine) => void;
    const loading = await startTestServer(new Promise<Engine>((resolve) => (finishLoading = resolve)));
    try {
      const health = await fetch(`${loading.url}/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: "loading", model: MODEL_ID });
      const res = await postJson(`${loading.baseURL}/chat/completions`, chat());
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expectErrorBody(res, "model_loading");
      expect((await fetch(`${loading.baseURL}/models`)).status).toBe(200);
      finishLoading(ctx.engine);
      await loading.server.model.ready;
      expect((await fetch(`${loading.url}/health`)).status).toBe(200);
      expect((await postJson(`${loading.baseURL}/chat/completions`, chat())).status).toBe(200);
    } finally {
      await loading.stop();
    }
  });

  it("answers 503 when the model failed to load, with the cause only in the log", async () => {
    const broken = await startTestServer(Engine.load("/nonexistent/model"));
    try {
      await expect(broken.server.model.ready).rejects.toMatchObject({ code: "ERR_WENXIN_FILE_NOT_FOUND" });
      const health = await fetch(`${broken.url}/health`);
      expect(health.status).toBe(503);
      expect((await health.json()).status).toBe("failed");
      const res = await postJson(`${broken.baseURL}/chat/completions`, chat());
      expect(res.status).toBe(503);
      expectErrorBody(res, "model_unavailable");
      expect(res.text).not.toContain("nonexistent");
      expect(broken.logs.some((l) => l.msg === "model failed to load")).toBe(true);
    } finally {
      await broken.stop();
    }
  });

  it("answers 503 before any stream starts for a request larger than the whole KV cache", async () => {
    const tight = await Engine.load(DENSE_DIR, { threads: 1, maxContext: 256, kvCacheTokens: 48 });
    const small = await startTestServer(tight);
    try {
      const streamed = await postJson(`${small.baseURL}/chat/completions`, chat({ stream: true, max_tokens: 200 }));
      expect(streamed.status).toBe(503);
      expectErrorBody(streamed, "kv_cache_full");
      const plain = await postJson(`${small.baseURL}/chat/completions`, chat({ max_tokens: 200 }));
      expect(plain.status).toBe(503);
      expectErrorBody(plain, "kv_cache_full");
      // The engine keeps serving requests that fit.
      expect((await postJson(`${small.baseURL}/chat/completions`, chat({ max_tokens: 4 }))).status).toBe(200);
    } finally {
      await small.stop();
      await tight.close();
    }
  });
});

describe("request ids and logs", () => {
  it("echoes a client's x-request-id, makes one otherwise, and logs with it", async () => {
    const given = await postJson(`${ctx.srv.baseURL}/chat/completions`, chat(), { "x-request-id": "trace-123" });
    expect(given.headers.get("x-request-id")).toBe("trace-123");
    const made = await postJson(`${ctx.srv.baseURL}/chat/completions`, chat());
    expect(made.headers.get("x-request-id")).toMatch(/^req-[0-9a-f-]{36}$/);
    const lines = ctx.srv.logs.filter((l) => l.reqId === "trace-123");
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(["incoming request", "request completed"]));
    const refused = await postJson(`${ctx.srv.baseURL}/chat/completions`, chat({ temperature: 9 }), {
      "x-request-id": "bad-1",
    });
    expect(refused.status).toBe(400);
    expect(
      ctx.srv.logs.some((l) => l.reqId === "bad-1" && l.msg === "request refused" && l.code === "invalid_value"),
    ).toBe(true);
  });
});
