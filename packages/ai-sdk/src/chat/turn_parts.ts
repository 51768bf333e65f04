/**
 * A chat turn in the AI SDK's terms: the finished turn as content, usage and finish reason
 * (doGenerate), and the stream of deltas as typed stream parts (doStream): text and reasoning
 * blocks with start/delta/end, tool inputs streamed per call, then the tool calls.
 */
import type {
  LanguageModelV3Content,
  LanguageModelV3FinishReason,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
} from "@ai-sdk/provider";
import type { ChatDelta, ChatTurn } from "@wenxin/engine/internal";

const FINISH_REASONS: Record<string, LanguageModelV3FinishReason["unified"]> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool-calls",
  content_filter: "content-filter",
};

export function finishReasonOf(turn: ChatTurn): LanguageModelV3FinishReason {
  return { unified: FINISH_REASONS[turn.finishReason] ?? "other", raw: turn.finishReason };
}

export function usageOf(turn: ChatTurn): LanguageModelV3Usage {
  const { inputTokens, outputTokens, reasoningTokens } = turn.usage;
  return {
    inputTokens: { total: inputTokens, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: {
      total: outputTokens,
      text: reasoningTokens !== undefined ? outputTokens - reasoningTokens : outputTokens,
      reasoning: reasoningTokens ?? 0,
    },
    raw: {
      prompt_tokens: inputTokens,
      completion_tokens: outputTokens,
      ...(reasoningTokens !== undefined ? { reasoning_tokens: reasoningTokens } : {}),
    },
  };
}

/** The turn's tool calls in call order; an invalid call keeps its raw text, so the SDK reports (or repairs) it. */
function toolCallsOf(turn: ChatTurn): { index: number; id: string; name: string; input: string }[] {
  return [
    ...turn.toolCalls.map((c) => ({ index: c.index, id: c.id, name: c.name, input: JSON.stringify(c.arguments) })),
    ...turn.invalidToolCalls.map((c) => ({ index: c.index, id: c.id, name: c.name ?? "", input: c.arguments })),
  ].sort((a, b) => a.index - b.index);
}

/** doGenerate's content: reasoning, text, then the tool calls. */
export function contentOf(turn: ChatTurn): LanguageModelV3Content[] {
  const content: LanguageModelV3Content[] = [];
  if (turn.reasoning) content.push({ type: "reasoning", text: turn.reasoning });
  if (turn.content) content.push({ type: "text", text: turn.content });
  for (const call of toolCallsOf(turn))
    content.push({ type: "tool-call", toolCallId: call.id, toolName: call.name, input: call.input });
  return content;
}

/** Turns deltas into stream parts, opening and closing text / reasoning blocks as the kind changes. */
export class StreamPartWriter {
  private open: { type: "text" | "reasoning"; id: string } | undefined;
  private blocks = 0;
  /** Turn call index → the id its tool input streams under. */
  private readonly inputs = new Map<number, string>();

  /** The parts for one delta (not `end`: see finish). */
  push(delta: Exclude<ChatDelta, { type: "end" }>): LanguageModelV3StreamPart[] {
    const parts: LanguageModelV3StreamPart[] = [];
    if (delta.type === "text" || delta.type === "reasoning") {
      if (delta.text === "") return parts;
      if (this.open?.type !== delta.type) {
        this.close(parts);
        this.open = { type: delta.type, id: `${delta.type === "text" ? "txt" : "rsn"}-${this.blocks++}` };
        parts.push({ type: `${delta.type}-start`, id: this.open.id });
      }
      parts.push({ type: `${delta.type}-delta`, id: this.open.id, delta: delta.text });
      return parts;
    }
    this.close(parts);
    let id = this.inputs.get(delta.index);
    if (id === undefined) {
      id = delta.id ?? `call-${delta.index}`;
      this.inputs.set(delta.index, id);
      parts.push({ type: "tool-input-start", id, toolName: delta.name ?? "" });
    }
    if (delta.args) parts.push({ type: "tool-input-delta", id, delta: delta.args });
    return parts;
  }

  /** The closing parts: open blocks end, each streamed tool input ends, then the tool calls. */
  finish(turn: ChatTurn): LanguageModelV3StreamPart[] {
    const parts: LanguageModelV3StreamPart[] = [];
    this.close(parts);
    for (const call of toolCallsOf(turn)) {
      const id = this.inputs.get(call.index);
      if (id !== undefined) parts.push({ type: "tool-input-end", id });
      parts.push({ type: "tool-call", toolCallId: call.id, toolName: call.name, input: call.input });
    }
    return parts;
  }

  private close(parts: LanguageModelV3StreamPart[]): void {
    if (!this.open) return;
    parts.push({ type: `${this.open.type}-end`, id: this.open.id });
    this.open = undefined;
  }
}
