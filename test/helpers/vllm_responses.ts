// Responses shaped like vLLM's OpenAI server (`vllm serve baidu/ERNIE-4.5-21B-A3B-Thinking
// --enable-auto-tool-choice --tool-call-parser ernie45 --reasoning-parser ernie45`), for msw
// handlers in the adapters' remote-mode tests (plain fetch Responses, which msw serves as they are).

export const MODEL = "baidu/ERNIE-4.5-21B-A3B-Thinking";
export const BASE_URL = "http://vllm.test:8000/v1";

let created = 1_753_000_000;

/** One `chat.completion.chunk` with a delta for choice 0. */
export function chunk(delta: Record<string, unknown>, finishReason: string | null = null): Record<string, unknown> {
  return {
    id: "chatcmpl-5f1c",
    object: "chat.completion.chunk",
    created: created++,
    model: MODEL,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
}

/** The last chunk when `stream_options.include_usage` is set: no choices, only usage. */
export function usageChunk(prompt: number, completion: number): Record<string, unknown> {
  return {
    id: "chatcmpl-5f1c",
    object: "chat.completion.chunk",
    created: created++,
    model: MODEL,
    choices: [],
    usage: { prompt_tokens: prompt, total_tokens: prompt + completion, completion_tokens: completion },
  };
}

/** An SSE response of `events` then `data: [DONE]`, optionally with a pause between events. */
export function sse(events: unknown[], options: { delayMs?: number; done?: boolean } = {}): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream({
    async start(controller) {
      for (const e of events) {
        if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
        controller.enqueue(encoder.encode(typeof e === "string" ? e : `data: ${JSON.stringify(e)}\n\n`));
      }
      if (options.done !== false) controller.enqueue(encoder.encode("data: [DONE]\n\n"));
      controller.close();
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

/** Reasoning, then an answer. */
export const answerStream = [
  chunk({ role: "assistant", content: "" }),
  chunk({ reasoning_content: "The user greets" }),
  chunk({ reasoning_content: " me." }),
  chunk({ content: "Hello" }),
  chunk({ content: "! 你好。" }),
  chunk({}, "stop"),
  usageChunk(21, 9),
];

/** Two parallel calls streamed the way vLLM's tool parsers do: id and name first, arguments in pieces. */
export const toolCallStream = [
  chunk({ role: "assistant", content: "" }),
  chunk({ reasoning_content: "Two cities: two calls." }),
  chunk({
    tool_calls: [
      { id: "chatcmpl-tool-a1", type: "function", index: 0, function: { name: "get_weather", arguments: "" } },
    ],
  }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city": ' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
  chunk({
    tool_calls: [
      {
        id: "chatcmpl-tool-b2",
        type: "function",
        index: 1,
        function: { name: "get_weather", arguments: '{"city": "Rome"}' },
      },
    ],
  }),
  chunk({}, "tool_calls"),
  usageChunk(80, 40),
];

/** An OpenAI-shaped error body as vLLM sends it. */
export function errorResponse(status: number, message: string, type = "BadRequestError"): Response {
  return new Response(JSON.stringify({ object: "error", message, type, param: null, code: status }), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/**
 * A resolver for msw's `http.post` that serves `responses` in turn (the last one again once they
 * run out) and records each request's JSON body and headers.
 */
export function recordedReplies(...responses: (() => Response)[]) {
  const requests: { body: Record<string, any>; headers: Headers }[] = [];
  const resolver = async ({ request }: { request: Request }): Promise<Response> => {
    requests.push({ body: (await request.json()) as Record<string, any>, headers: request.headers });
    return responses[Math.min(requests.length - 1, responses.length - 1)]!();
  };
  return { requests, resolver };
}
