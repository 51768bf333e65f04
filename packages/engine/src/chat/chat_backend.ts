/**
 * What the adapters (ChatWenxin, the AI SDK provider) ask of a chat backend (the in-process
 * engine or a remote OpenAI-compatible server): one chat turn as a stream of deltas, ending with
 * the parsed turn.
 */
import type { ChatMessage } from "./chat_template.js";
import type {
  ChatOutputEvent,
  InvalidToolCall,
  ParsedToolCall,
  ResponseFormat,
  ToolChoiceOption,
  ToolDefinition,
} from "./chat_types.js";

export interface ChatSampling {
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
  seed?: number;
  doSample?: boolean;
  maxTokens?: number;
}

export interface ChatRequest {
  messages: ChatMessage[];
  tools: ToolDefinition[];
  toolChoice?: ToolChoiceOption;
  responseFormat?: ResponseFormat;
  thinking?: boolean;
  sampling: ChatSampling;
  stop: string[];
}

export interface ChatUsage {
  inputTokens: number;
  outputTokens: number;
  /** Output tokens spent on reasoning, when known. */
  reasoningTokens?: number;
}

/** The finished turn: strictly parsed tool calls, usage and why generation ended. */
export interface ChatTurn {
  content: string;
  reasoning: string;
  toolCalls: ParsedToolCall[];
  invalidToolCalls: InvalidToolCall[];
  /** `stop`, `length` or `tool_calls` (OpenAI's names). */
  finishReason: string;
  usage: ChatUsage;
  model: string;
  /**
   * Schema keywords of the turn's constraint that were relaxed, not enforced (local mode, or as a
   * wenxin server reports them); absent when none.
   */
  warnings?: string[];
}

export type ChatDelta =
  | { type: "text"; text: string }
  | { type: "reasoning"; text: string }
  /** Part of a tool call: the first part of each `index` carries its id and name. */
  | { type: "tool_call_chunk"; index: number; id?: string; name?: string; args: string }
  | { type: "end"; turn: ChatTurn };

export interface ChatBackend {
  /** The model name reported in response metadata. */
  readonly modelName: string;
  /** Longest prompt + reply in tokens, when known. */
  readonly contextLength: number | undefined;
  stream(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatDelta>;
}

/** The finish reason of a turn in OpenAI's terms. */
export function turnFinishReason(engineReason: string, toolCalls: number): string {
  return toolCalls > 0 ? "tool_calls" : engineReason;
}

/** Deltas for the chat-format parser's events; `index` maps the parser's call index to the turn's. */
export function deltasOf(events: ChatOutputEvent[], index: (parserIndex: number) => number = (i) => i): ChatDelta[] {
  const out: ChatDelta[] = [];
  for (const e of events) {
    if (e.type === "text" || e.type === "reasoning") out.push({ type: e.type, text: e.text });
    else if (e.type === "tool_call_begin")
      out.push({ type: "tool_call_chunk", index: index(e.index), id: e.id, name: e.name, args: "" });
    else if (e.type === "tool_call_delta")
      out.push({ type: "tool_call_chunk", index: index(e.index), args: e.arguments });
    else if (e.type === "tool_call_invalid" && !e.begun) {
      const { call } = e;
      out.push({
        type: "tool_call_chunk",
        index: index(call.index),
        id: call.id,
        ...(call.name !== undefined ? { name: call.name } : {}),
        args: call.arguments,
      });
    }
  }
  return out;
}
