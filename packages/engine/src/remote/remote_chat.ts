/**
 * Chat turns on an OpenAI-compatible server serving ERNIE 4.5 (ours, or vLLM / FastDeploy with
 * the ernie45 tool and reasoning parsers). Always streams: tool calls arrive as `tool_calls`
 * deltas keyed by index, reasoning as `reasoning_content` (or `reasoning`). Content also goes
 * through the chat-format parser, so a server started without those parsers still yields tool
 * calls and reasoning from the raw markup.
 */
import { randomUUID } from "node:crypto";

import {
  deltasOf,
  turnFinishReason,
  type ChatBackend,
  type ChatDelta,
  type ChatRequest,
} from "../chat/chat_backend.js";
import type { InvalidToolCall, ParsedToolCall, ToolChoiceOption } from "../chat/chat_types.js";
import { ChatOutputParser } from "../chat/output_parser.js";
import { WenxinRemoteError } from "./remote_error.js";
import { readServerSentEvents } from "./sse.js";

/**
 * POSTs JSON to a path under the server's base URL (e.g. "/chat/completions") and resolves with
 * the OK response; each adapter brings its own (retries, error types, headers).
 */
export type RemotePost = (path: string, body: unknown, signal?: AbortSignal) => Promise<Response>;

interface StreamChunk {
  model?: string;
  choices?: {
    delta?: {
      content?: string | null;
      reasoning_content?: string | null;
      reasoning?: string | null;
      tool_calls?: { index?: number; id?: string; function?: { name?: string; arguments?: string } }[];
    };
    finish_reason?: string | null;
  }[];
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    completion_tokens_details?: { reasoning_tokens?: number };
  } | null;
  error?: { message?: string; type?: string; code?: string | number };
  /** wenxin serve: on the first chunk, the schema keywords the constraint relaxed. */
  warnings?: string[];
}

/** The OpenAI wire form of a tool choice. */
export function toOpenAIToolChoice(choice: ToolChoiceOption | undefined): unknown {
  if (choice === undefined || typeof choice === "string") return choice;
  return { type: "function", function: { name: choice.name } };
}

/** The request body in OpenAI's chat-completions shape, with vLLM's sampling extras. */
export function chatCompletionsBody(model: string, request: ChatRequest): Record<string, unknown> {
  const s = request.sampling;
  const body: Record<string, unknown> = {
    model,
    messages: request.messages,
    stream: true,
    stream_options: { include_usage: true },
    temperature: s.temperature,
    top_p: s.topP,
    top_k: s.topK,
    min_p: s.minP,
    repetition_penalty: s.repetitionPenalty,
    seed: s.seed,
    max_tokens: s.maxTokens,
    stop: request.stop.length > 0 ? request.stop : undefined,
    tools: request.tools.length > 0 ? request.tools : undefined,
    tool_choice: request.tools.length > 0 ? toOpenAIToolChoice(request.toolChoice) : undefined,
    response_format: request.responseFormat,
    chat_template_kwargs: request.thinking !== undefined ? { enable_thinking: request.thinking } : undefined,
  };
  if (s.doSample === false && s.temperature === undefined) body.temperature = 0;
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

/** A streamed OpenAI tool call being assembled. */
interface RemoteCall {
  index: number;
  id: string;
  name: string;
  args: string;
}

function finishRemoteCall(call: RemoteCall): ParsedToolCall | InvalidToolCall {
  try {
    const args: unknown = call.args.trim() === "" ? {} : JSON.parse(call.args);
    if (args && typeof args === "object" && !Array.isArray(args) && call.name)
      return { index: call.index, id: call.id, name: call.name, arguments: args as Record<string, unknown> };
    return {
      index: call.index,
      id: call.id,
      name: call.name,
      arguments: call.args,
      error: call.name ? "the arguments are not a JSON object" : "the tool call has no name",
    };
  } catch (err) {
    return {
      index: call.index,
      id: call.id,
      name: call.name,
      arguments: call.args,
      error: `the arguments are not valid JSON: ${(err as Error).message}`,
    };
  }
}

export class RemoteChatBackend implements ChatBackend {
  readonly contextLength = undefined;

  constructor(
    private readonly post: RemotePost,
    readonly modelName: string,
  ) {}

  async *stream(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatDelta> {
    signal?.throwIfAborted();
    const res = await this.post("/chat/completions", chatCompletionsBody(this.modelName, request), signal);
    if (!res.body)
      throw new WenxinRemoteError("ERR_WENXIN_REMOTE_STREAM", "the server sent no response body", {
        status: res.status,
      });

    // Server tool calls and calls parsed from raw markup share the turn's index space.
    const indexes = new Map<string, number>();
    const indexOf = (key: string) => indexes.get(key) ?? (indexes.set(key, indexes.size), indexes.size - 1);
    const parser = new ChatOutputParser({ parseToolCalls: request.toolChoice !== "none" });
    const remoteCalls = new Map<number, RemoteCall>();
    let reasoning = "";
    let finishReason = "stop";
    let model = this.modelName;
    let usage: StreamChunk["usage"];
    let warnings: string[] | undefined;

    for await (const data of readServerSentEvents(res.body)) {
      if (data.trim() === "[DONE]") break;
      let chunk: StreamChunk;
      try {
        chunk = JSON.parse(data) as StreamChunk;
      } catch (err) {
        throw new WenxinRemoteError(
          "ERR_WENXIN_REMOTE_STREAM",
          `the server sent an event that is not JSON: ${data.slice(0, 200)}`,
          { cause: err },
        );
      }
      if (chunk.error)
        throw new WenxinRemoteError(
          "ERR_WENXIN_REMOTE_STREAM",
          `the server reported an error mid-stream: ${chunk.error.message ?? JSON.stringify(chunk.error)}`,
          {
            ...(chunk.error.code !== undefined || chunk.error.type !== undefined
              ? { errorType: String(chunk.error.code ?? chunk.error.type) }
              : {}),
          },
        );
      if (chunk.model) model = chunk.model;
      if (chunk.usage) usage = chunk.usage;
      if (Array.isArray(chunk.warnings) && chunk.warnings.length > 0) warnings = chunk.warnings.map(String);
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const delta = choice.delta ?? {};
      const thought = delta.reasoning_content ?? delta.reasoning;
      if (thought) {
        reasoning += thought;
        yield { type: "reasoning", text: thought };
      }
      if (delta.content) yield* deltasOf(parser.push(delta.content), (i) => indexOf(`parsed:${i}`));
      for (const tc of delta.tool_calls ?? []) {
        const remoteIndex = tc.index ?? remoteCalls.size;
        let call = remoteCalls.get(remoteIndex);
        const fresh = !call;
        if (!call) {
          call = {
            index: indexOf(`remote:${remoteIndex}`),
            id: tc.id || `call_${randomUUID().replaceAll("-", "").slice(0, 24)}`,
            name: "",
            args: "",
          };
          remoteCalls.set(remoteIndex, call);
        }
        if (tc.function?.name) call.name += tc.function.name;
        const args = tc.function?.arguments ?? "";
        call.args += args;
        yield {
          type: "tool_call_chunk",
          index: call.index,
          ...(fresh ? { id: call.id } : {}),
          ...(tc.function?.name ? { name: tc.function.name } : {}),
          args,
        };
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
    yield* deltasOf(parser.finish(), (i) => indexOf(`parsed:${i}`));

    const parsed = parser.result();
    const toolCalls = parsed.toolCalls.map((c) => ({ ...c, index: indexOf(`parsed:${c.index}`) }));
    const invalidToolCalls = parsed.invalidToolCalls.map((c) => ({ ...c, index: indexOf(`parsed:${c.index}`) }));
    for (const call of remoteCalls.values()) {
      const done = finishRemoteCall(call);
      if ("error" in done) invalidToolCalls.push(done);
      else toolCalls.push(done);
    }
    toolCalls.sort((a, b) => a.index - b.index);
    invalidToolCalls.sort((a, b) => a.index - b.index);
    const reasoningTokens = usage?.completion_tokens_details?.reasoning_tokens;
    yield {
      type: "end",
      turn: {
        content: parsed.content,
        reasoning: reasoning + parsed.reasoning,
        toolCalls,
        invalidToolCalls,
        finishReason:
          finishReason === "stop" || finishReason === "tool_calls"
            ? turnFinishReason("stop", toolCalls.length)
            : finishReason,
        usage: {
          inputTokens: usage?.prompt_tokens ?? 0,
          outputTokens: usage?.completion_tokens ?? 0,
          ...(reasoningTokens ? { reasoningTokens } : {}),
        },
        model,
        ...(warnings ? { warnings } : {}),
      },
    };
  }
}
