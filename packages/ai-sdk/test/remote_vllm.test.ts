// Remote mode against vLLM-shaped responses (replayed with msw): the request body, reasoning,
// several tool calls in one turn, error statuses (retried or not) and a stream that fails midway.
import { APICallError } from "@ai-sdk/provider";
import { embedMany, generateText, streamText, tool } from "ai";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";

import { createWenxin } from "../src/index.js";
import {
  answerStream,
  BASE_URL,
  chunk,
  errorResponse,
  MODEL,
  recordedReplies,
  sse,
  toolCallStream,
} from "../../../test/helpers/vllm_responses.js";

(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

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

const vllm = createWenxin({ baseURL: BASE_URL, apiKey: "sk-test", headers: { "x-team": "ernie" } });
const model = vllm(MODEL, { thinking: true, minP: 0.05 });

const weather = tool({
  description: "Current weather in a city",
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => `sunny in ${city}`,
});

describe("remote mode against vLLM-shaped responses", () => {
  it("sends OpenAI chat-completions with vLLM's sampling extras, auth and headers", async () => {
    const requests = serveChat(() => sse(answerStream));
    await generateText({
      model,
      system: "Be brief.",
      prompt: "Hello",
      temperature: 0.7,
      topP: 0.8,
      topK: 40,
      seed: 42,
      maxOutputTokens: 64,
      stopSequences: ["\n\n"],
      providerOptions: { wenxin: { repetitionPenalty: 1.1 } },
    });
    const { body, headers } = requests[0]!;
    // The call settings in OpenAI's names, the provider options in vLLM's.
    const sent = { ...body, messages: body.messages.map((m: { role: string }) => m.role) };
    expect(sent).toMatchObject({ model: MODEL, messages: ["system", "user"], stream: true, max_tokens: 64 });
    expect(sent).toMatchObject({ temperature: 0.7, top_p: 0.8, top_k: 40, seed: 42, stop: ["\n\n"] });
    expect(sent).toMatchObject({
      min_p: 0.05,
      repetition_penalty: 1.1,
      chat_template_kwargs: { enable_thinking: true },
    });
    expect(headers.get("authorization")).toBe("Bearer sk-test");
    expect(headers.get("x-team")).toBe("ernie");
  });

  it("reads reasoning_content as reasoning and content as text, with the server's usage", async () => {
    serveChat(() => sse(answerStream));
    const result = await generateText({ model, prompt: "Hello" });
    expect(result.reasoningText).toBe("The user greets me.");
    expect(result.text).toBe("Hello! 你好。");
    expect(result.usage).toMatchObject({ inputTokens: 21, outputTokens: 9 });
    expect(result.finishReason).toBe("stop");
    expect(result.response.modelId).toBe(MODEL);
  });

  it("streams two tool calls of one turn, and the SDK runs both", async () => {
    serveChat(() => sse(toolCallStream));
    const result = streamText({ model, prompt: "Weather in Paris and Rome?", tools: { get_weather: weather } });
    const types: string[] = [];
    for await (const part of result.fullStream) types.push(part.type);
    const calls = await result.toolCalls;
    expect(calls.map((c) => [c.toolName, c.input])).toEqual([
      ["get_weather", { city: "Paris" }],
      ["get_weather", { city: "Rome" }],
    ]);
    expect((await result.toolResults).map((r) => r.output)).toEqual(["sunny in Paris", "sunny in Rome"]);
    expect(types.filter((t) => t === "tool-input-start")).toHaveLength(2);
    expect(await result.finishReason).toBe("tool-calls");
    expect(await result.reasoningText).toBe("Two cities: two calls.");
  });

  it("sends the tool loop's history back in OpenAI's shape, with tool_choice", async () => {
    const requests = serveChat(
      () => sse(toolCallStream),
      () => sse([chunk({ content: '{"answer": "sunny"}' }), chunk({}, "stop")]),
    );
    await generateText({
      model,
      prompt: "Weather?",
      tools: { get_weather: weather },
      toolChoice: { type: "tool", toolName: "get_weather" },
      prepareStep: ({ stepNumber }) => (stepNumber === 1 ? { toolChoice: "none" } : {}),
      stopWhen: ({ steps }) => steps.length === 2,
    });
    expect(requests[0]!.body.tool_choice).toEqual({ type: "function", function: { name: "get_weather" } });
    expect(requests[0]!.body.tools[0].function).toMatchObject({ name: "get_weather", parameters: { type: "object" } });
    const history = requests[1]!.body.messages.slice(1);
    expect(history[0]).toMatchObject({
      role: "assistant",
      tool_calls: [
        { id: "chatcmpl-tool-a1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
        { id: "chatcmpl-tool-b2", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
      ],
    });
    expect(history.slice(1)).toEqual([
      { role: "tool", content: "sunny in Paris", tool_call_id: "chatcmpl-tool-a1", name: "get_weather" },
      { role: "tool", content: "sunny in Rome", tool_call_id: "chatcmpl-tool-b2", name: "get_weather" },
    ]);
    expect(requests[1]!.body.tool_choice).toBe("none");
  });

  it("retries a 503 (the SDK's maxRetries) and does not retry a 400, whose message it reports", async () => {
    const loading = () => {
      const res = errorResponse(503, "model is loading", "ServiceUnavailableError");
      res.headers.set("retry-after-ms", "20"); // the SDK waits what the server asks
      return res;
    };
    const requests = serveChat(loading, () => sse(answerStream));
    expect((await generateText({ model, prompt: "Hi", maxRetries: 2 })).text).toBe("Hello! 你好。");
    expect(requests).toHaveLength(2);

    const refused = serveChat(() => errorResponse(400, "max_tokens is too large"));
    const err = await generateText({ model, prompt: "Hi", maxRetries: 2 }).catch((e: unknown) => e);
    expect(APICallError.isInstance(err)).toBe(true);
    expect(err).toMatchObject({ statusCode: 400, isRetryable: false });
    expect((err as Error).message).toContain("max_tokens is too large");
    expect(refused).toHaveLength(1);
  });

  it("reports a stream that fails midway as an error part", async () => {
    serveChat(() => sse([chunk({ content: "Hel" }), { error: { message: "engine crashed", type: "InternalError" } }]));
    const errors: unknown[] = [];
    const result = streamText({ model, prompt: "Hi", onError: ({ error }) => void errors.push(error) });
    let text = "";
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe("Hel");
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toContain("engine crashed");
  });

  it("embeds through /embeddings, in input order", async () => {
    server.use(
      http.post(`${BASE_URL}/embeddings`, async ({ request }) => {
        const body = (await request.json()) as { input: string[] };
        return HttpResponse.json({
          data: body.input.map((_, i) => ({
            index: body.input.length - 1 - i,
            embedding: [body.input.length - 1 - i, 0],
          })),
          usage: { prompt_tokens: 7 },
        });
      }),
    );
    const { embeddings, usage } = await embedMany({ model: vllm.embeddingModel(MODEL), values: ["a", "b", "c"] });
    expect(embeddings).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);
    expect(usage.tokens).toBe(7);
  });
});
