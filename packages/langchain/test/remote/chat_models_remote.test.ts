// Remote mode: ChatWenxin and WenxinEmbeddings against an OpenAI-compatible ERNIE deployment,
// replayed with msw in vLLM's response shapes.
import { AIMessage, HumanMessage, SystemMessage, ToolMessage, type AIMessageChunk } from "@langchain/core/messages";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";

import { ChatWenxin, WenxinEmbeddings, WenxinRemoteError } from "../../src/index.js";
import {
  answerStream,
  BASE_URL,
  chunk,
  errorResponse,
  MODEL,
  recordedReplies,
  sse,
  toolCallStream,
  usageChunk,
} from "../../../../test/helpers/vllm_responses.js";

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

/** Serves `responses` in turn and records each request body and headers. */
function serveChat(...responses: (() => Response)[]) {
  const { requests, resolver } = recordedReplies(...responses);
  server.use(http.post(`${BASE_URL}/chat/completions`, resolver));
  return requests;
}

const weatherTool = {
  name: "get_weather",
  description: "Current weather in a city",
  schema: z.object({ city: z.string() }),
};

function remote(fields: Partial<ConstructorParameters<typeof ChatWenxin>[0]> = {}) {
  return new ChatWenxin({ model: MODEL, baseUrl: BASE_URL, apiKey: "sk-test", maxRetries: 0, ...fields });
}

describe("ChatWenxin remote: requests", () => {
  it("sends an OpenAI chat-completions request with vLLM's sampling extras", async () => {
    const requests = serveChat(() => sse(answerStream));
    const model = remote({
      temperature: 0.7,
      topP: 0.8,
      topK: 40,
      minP: 0.05,
      repetitionPenalty: 1.1,
      seed: 42,
      maxTokens: 64,
      thinking: true,
    });
    await model.invoke([new SystemMessage("Be brief."), new HumanMessage("你好")], { stop: ["\n\n"] });
    const { body, headers } = requests[0]!;
    expect(headers.get("authorization")).toBe("Bearer sk-test");
    expect(body).toEqual({
      model: MODEL,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "你好" },
      ],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.7,
      top_p: 0.8,
      top_k: 40,
      min_p: 0.05,
      repetition_penalty: 1.1,
      seed: 42,
      max_tokens: 64,
      stop: ["\n\n"],
      chat_template_kwargs: { enable_thinking: true },
    });
  });

  it("sends tools, tool_choice and tool-call histories in OpenAI's format", async () => {
    const requests = serveChat(() => sse(answerStream));
    const model = remote().bindTools([weatherTool], { tool_choice: "get_weather" });
    await model.invoke([
      new HumanMessage("Weather in Paris?"),
      new AIMessage({
        content: "",
        tool_calls: [{ id: "c1", name: "get_weather", args: { city: "Paris" }, type: "tool_call" }],
      }),
      new ToolMessage({ content: [{ type: "text", text: "sunny" }], tool_call_id: "c1" }),
    ]);
    const { body } = requests[0]!;
    expect(body.tools).toEqual([
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Current weather in a city",
          parameters: expect.objectContaining({
            type: "object",
            properties: { city: { type: "string" } },
            required: ["city"],
          }),
        },
      },
    ]);
    expect(body.tool_choice).toEqual({ type: "function", function: { name: "get_weather" } });
    expect(body.messages).toEqual([
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: "",
        tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
      },
      { role: "tool", content: "sunny", tool_call_id: "c1", name: "get_weather" },
    ]);
    await remote().bindTools([weatherTool], { tool_choice: "any" }).invoke("x");
    expect(requests[1]!.body.tool_choice).toBe("required");
  });
});

describe("ChatWenxin remote: responses", () => {
  it("assembles reasoning, text, usage and metadata on invoke", async () => {
    serveChat(() => sse(answerStream));
    const msg = await remote().invoke("hi");
    expect(msg.content).toBe("Hello! 你好。");
    expect(msg.additional_kwargs.reasoning_content).toBe("The user greets me.");
    expect(msg.contentBlocks[0]).toEqual({ type: "reasoning", reasoning: "The user greets me." });
    expect(msg.usage_metadata).toMatchObject({ input_tokens: 21, output_tokens: 9, total_tokens: 30 });
    expect(msg.response_metadata).toMatchObject({ model_provider: "wenxin", model: MODEL, finish_reason: "stop" });
  });

  it("streams token chunks and ends with a usage chunk", async () => {
    serveChat(() => sse(answerStream));
    const tokens: string[] = [];
    const chunks: AIMessageChunk[] = [];
    const stream = await remote().stream("hi", {
      callbacks: [{ handleLLMNewToken: (t: string) => void tokens.push(t) }],
    });
    for await (const c of stream) chunks.push(c);
    expect(chunks.map((c) => c.content).join("")).toBe("Hello! 你好。");
    expect(tokens.join("")).toBe("Hello! 你好。");
    expect(chunks.at(-1)!.usage_metadata).toMatchObject({ input_tokens: 21, output_tokens: 9 });
    expect(chunks.slice(0, -1).every((c) => c.usage_metadata === undefined)).toBe(true);
  });

  it("streams parallel tool calls as tool_call_chunks and parses them on invoke", async () => {
    serveChat(() => sse(toolCallStream));
    const model = remote().bindTools([weatherTool]);
    const chunks: AIMessageChunk[] = [];
    for await (const c of await model.stream("Paris and Rome?")) chunks.push(c);
    const withCalls = chunks.filter((c) => (c.tool_call_chunks ?? []).length > 0);
    expect(withCalls.length).toBe(4);
    expect(withCalls[0]!.tool_call_chunks).toEqual([
      { type: "tool_call_chunk", index: 0, id: "chatcmpl-tool-a1", name: "get_weather", args: "" },
    ]);
    const merged = chunks.reduce((a, b) => a.concat(b));
    expect(merged.tool_calls).toEqual([
      { type: "tool_call", id: "chatcmpl-tool-a1", name: "get_weather", args: { city: "Paris" } },
      { type: "tool_call", id: "chatcmpl-tool-b2", name: "get_weather", args: { city: "Rome" } },
    ]);
    expect(merged.usage_metadata).toMatchObject({ input_tokens: 80, output_tokens: 40 });

    serveChat(() => sse(toolCallStream));
    const msg = await model.invoke("Paris and Rome?");
    expect(msg.tool_calls!.map((c) => c.args)).toEqual([{ city: "Paris" }, { city: "Rome" }]);
    expect(msg.response_metadata.finish_reason).toBe("tool_calls");
    expect(msg.additional_kwargs.reasoning_content).toBe("Two cities: two calls.");
  });

  it("reads tool calls and reasoning from raw ERNIE markup when the server has no parsers", async () => {
    const raw = [
      "<think>\nTwo",
      " cities.\n</thi",
      'nk>\n\n<tool_call>\n{"name": "get_weather", ',
      '"arguments": {"city": "Paris"}}\n</tool_call>\n<tool_call>\n{"name": "get_weather", "arguments": {"city": 1',
      "x}}\n</tool_call>",
    ];
    serveChat(() => sse([...raw.map((content) => chunk({ content })), chunk({}, "stop"), usageChunk(50, 30)]));
    const msg = await remote().bindTools([weatherTool]).invoke("Paris?");
    expect(msg.content).toBe("");
    expect(msg.additional_kwargs.reasoning_content).toBe("\nTwo cities.");
    expect(msg.tool_calls).toMatchObject([{ name: "get_weather", args: { city: "Paris" } }]);
    expect(msg.invalid_tool_calls).toMatchObject([{ name: "get_weather", args: '{"city": 1x}' }]);
    expect(msg.response_metadata.finish_reason).toBe("tool_calls");
  });

  it("keeps a malformed server tool call as invalid", async () => {
    serveChat(() =>
      sse([
        chunk({ tool_calls: [{ id: "t1", index: 0, function: { name: "get_weather", arguments: '{"city": ' } }] }),
        chunk({}, "length"),
        usageChunk(5, 5),
      ]),
    );
    const msg = await remote().bindTools([weatherTool]).invoke("x");
    expect(msg.tool_calls).toEqual([]);
    expect(msg.invalid_tool_calls).toMatchObject([{ id: "t1", name: "get_weather", args: '{"city": ' }]);
    expect(msg.response_metadata.finish_reason).toBe("length");
  });
});

describe("ChatWenxin remote: errors, retries and abort", () => {
  it("retries a 503 and then succeeds", async () => {
    const requests = serveChat(
      () => errorResponse(503, "The model is loading", "ServiceUnavailableError"),
      () => sse(answerStream),
    );
    const msg = await remote({ maxRetries: 2 }).invoke("hi");
    expect(msg.content).toBe("Hello! 你好。");
    expect(requests).toHaveLength(2);
  });

  it("does not retry a 400 and reports the server's message", async () => {
    const requests = serveChat(() => errorResponse(400, "This model's maximum context length is 131072 tokens."));
    const err = await remote({ maxRetries: 3 })
      .invoke("hi")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WenxinRemoteError);
    expect(err).toMatchObject({ code: "ERR_WENXIN_REMOTE_HTTP", status: 400, errorType: "BadRequestError" });
    expect((err as Error).message).toContain("maximum context length");
    expect(requests).toHaveLength(1);
  });

  it("fails on a 401 with OpenAI's error shape", async () => {
    server.use(
      http.post(`${BASE_URL}/chat/completions`, () =>
        HttpResponse.json(
          { error: { message: "Invalid API key", type: "invalid_request_error", code: "invalid_api_key" } },
          { status: 401 },
        ),
      ),
    );
    await expect(remote({ maxRetries: 3 }).invoke("hi")).rejects.toMatchObject({
      status: 401,
      errorType: "invalid_request_error",
      message: expect.stringContaining("Invalid API key"),
    });
  });

  it("fails on an error event in the middle of a stream", async () => {
    serveChat(() =>
      sse([
        chunk({ content: "Hel" }),
        { error: { message: "CUDA out of memory", type: "InternalServerError", code: 500 } },
      ]),
    );
    await expect(remote().invoke("hi")).rejects.toMatchObject({
      code: "ERR_WENXIN_REMOTE_STREAM",
      message: expect.stringContaining("CUDA out of memory"),
    });
  });

  it("stops a stream when its signal aborts", async () => {
    serveChat(() =>
      sse([...Array.from({ length: 50 }, (_, i) => chunk({ content: `t${i} ` })), usageChunk(1, 50)], { delayMs: 20 }),
    );
    const controller = new AbortController();
    const seen: string[] = [];
    const run = async () => {
      for await (const c of await remote().stream("hi", { signal: controller.signal })) {
        seen.push(c.content as string);
        if (seen.length === 2) controller.abort();
      }
    };
    await expect(run()).rejects.toThrow();
    expect(seen.length).toBeLessThan(5);
  });
});

describe("ChatWenxin remote: structured output", () => {
  const schema = z.object({ a: z.number(), b: z.number() });

  it("jsonSchema (default) sends response_format and parses the JSON reply", async () => {
    const requests = serveChat(() =>
      sse([chunk({ content: '{"a": 1, ' }), chunk({ content: '"b": 2}' }), chunk({}, "stop"), usageChunk(9, 9)]),
    );
    const result = await remote().withStructuredOutput(schema, { name: "add" }).invoke("1 and 2");
    expect(result).toEqual({ a: 1, b: 2 });
    expect(requests[0]!.body.response_format).toEqual({
      type: "json_schema",
      json_schema: {
        name: "add",
        schema: expect.objectContaining({ type: "object", required: ["a", "b"] }),
        strict: true,
      },
    });
  });

  it("keeps the keywords a wenxin server relaxed (its first chunk's `warnings`) in response_metadata", async () => {
    const warning = "#/properties/a/multipleOf: 'multipleOf' is not enforced; the output may not meet it";
    serveChat(() =>
      sse([
        { ...chunk({ role: "assistant", content: "" }), warnings: [warning] },
        chunk({ content: '{"a": 3, "b": 4}' }),
        chunk({}, "stop"),
        usageChunk(9, 9),
      ]),
    );
    const result = await remote()
      .withStructuredOutput(z.object({ a: z.number().multipleOf(3), b: z.number() }), { name: "add", includeRaw: true })
      .invoke("3 and 4");
    expect(result.parsed).toEqual({ a: 3, b: 4 });
    expect((result.raw.response_metadata as { warnings?: string[] }).warnings).toEqual([warning]);
    // a server that sends none (vLLM): no warnings key
    serveChat(() => sse(answerStream));
    expect((await remote().invoke("hi")).response_metadata.warnings).toBeUndefined();
  });

  it("jsonMode asks for a JSON object", async () => {
    const requests = serveChat(() => sse([chunk({ content: '{"a": 3, "b": 4}' }), usageChunk(1, 1)]));
    expect(await remote().withStructuredOutput(schema, { method: "jsonMode" }).invoke("x")).toEqual({ a: 3, b: 4 });
    expect(requests[0]!.body.response_format).toEqual({ type: "json_object" });
  });

  it("functionCalling forces the tool and parses its arguments; includeRaw keeps the message", async () => {
    const requests = serveChat(() =>
      sse([
        chunk({ tool_calls: [{ id: "t", index: 0, function: { name: "add", arguments: '{"a": 5, "b": 6}' } }] }),
        usageChunk(1, 1),
      ]),
    );
    const out = await remote()
      .withStructuredOutput(schema, { method: "functionCalling", name: "add", includeRaw: true })
      .invoke("x");
    expect(out.parsed).toEqual({ a: 5, b: 6 });
    expect((out.raw as AIMessage).tool_calls![0]!.name).toBe("add");
    expect(requests[0]!.body.tool_choice).toEqual({ type: "function", function: { name: "add" } });
  });

  it("rejects a reply that does not match a JSON schema (parsed is null with includeRaw)", async () => {
    serveChat(() => sse([chunk({ content: '{"a": "one"}' }), usageChunk(1, 1)]));
    const jsonSchema = { type: "object", properties: { a: { type: "number" } }, required: ["a"] };
    await expect(remote().withStructuredOutput(jsonSchema).invoke("x")).rejects.toThrow(
      /does not match the JSON schema/,
    );
    serveChat(() => sse([chunk({ content: '{"a": "one"}' }), usageChunk(1, 1)]));
    const raw = await remote().withStructuredOutput(jsonSchema, { includeRaw: true }).invoke("x");
    expect(raw.parsed).toBeNull();
  });
});

describe("WenxinEmbeddings remote", () => {
  it("embeds in batches through /embeddings, in input order, retrying a 500", async () => {
    const inputs: string[][] = [];
    let failures = 1;
    server.use(
      http.post(`${BASE_URL}/embeddings`, async ({ request }) => {
        const body = (await request.json()) as { model: string; input: string[] };
        expect(body.model).toBe("ernie-embed");
        if (failures-- > 0) return errorResponse(500, "busy", "InternalServerError");
        inputs.push(body.input);
        // Answer out of order: the client sorts by index.
        const data = body.input
          .map((t, index) => ({ object: "embedding", index, embedding: [t.length, index] }))
          .reverse();
        return HttpResponse.json({
          object: "list",
          data,
          model: body.model,
          usage: { prompt_tokens: 3, total_tokens: 3 },
        });
      }),
    );
    const embeddings = new WenxinEmbeddings({
      model: "ernie-embed",
      baseUrl: BASE_URL,
      batchSize: 2,
      maxRetries: 2,
      maxConcurrency: 1,
    });
    const vectors = await embeddings.embedDocuments(["a", "bb", "ccc"]);
    expect(vectors).toEqual([
      [1, 0],
      [2, 1],
      [3, 0],
    ]);
    expect(inputs).toEqual([["a", "bb"], ["ccc"]]);
    expect(await embeddings.embedQuery("dddd")).toEqual([4, 0]);
  });

  it("fails on a reply without the embeddings asked for", async () => {
    server.use(http.post(`${BASE_URL}/embeddings`, () => HttpResponse.json({ data: [] })));
    await expect(
      new WenxinEmbeddings({ model: "m", baseUrl: BASE_URL, maxRetries: 0 }).embedQuery("x"),
    ).rejects.toBeInstanceOf(WenxinRemoteError);
  });
});
