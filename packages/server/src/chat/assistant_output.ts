/**
 * What a generated assistant turn is made of, piece by piece (visible text, thinking, tool
 * calls), and the accumulator that assembles the pieces into the final message. The parser
 * that produces the pieces from token events is in output_parser.ts.
 */
import type { ToolCall } from "../routes/chat_completions/protocol.js";

export type AssistantPiece =
  | { kind: "content"; text: string }
  | { kind: "reasoning"; text: string }
  /** A tool call begins; its arguments follow as `tool_call_arguments` pieces. */
  | { kind: "tool_call_start"; index: number; id: string; name: string }
  | { kind: "tool_call_arguments"; index: number; text: string };

/** Collects pieces into the non-streaming message. */
export class AssistantMessageBuilder {
  private content = "";
  private reasoning = "";
  private readonly toolCalls: ToolCall[] = [];

  add(pieces: AssistantPiece[]): void {
    for (const p of pieces) {
      switch (p.kind) {
        case "content":
          this.content += p.text;
          break;
        case "reasoning":
          this.reasoning += p.text;
          break;
        case "tool_call_start":
          this.toolCalls[p.index] = { id: p.id, type: "function", function: { name: p.name, arguments: "" } };
          break;
        case "tool_call_arguments":
          this.toolCalls[p.index]!.function.arguments += p.text;
          break;
      }
    }
  }

  get hasToolCalls(): boolean {
    return this.toolCalls.length > 0;
  }

  message(): {
    role: "assistant";
    content: string | null;
    reasoning_content?: string;
    tool_calls?: ToolCall[];
    refusal: null;
  } {
    return {
      role: "assistant",
      // OpenAI sends null content beside tool calls when the model said nothing else.
      content: this.hasToolCalls && this.content.trim() === "" ? null : this.content,
      ...(this.reasoning ? { reasoning_content: this.reasoning } : {}),
      ...(this.hasToolCalls ? { tool_calls: this.toolCalls.filter(Boolean) } : {}),
      refusal: null,
    };
  }
}
