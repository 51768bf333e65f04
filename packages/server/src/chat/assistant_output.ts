/**
 * What a generated assistant turn is made of, piece by piece (visible text, thinking, tool
 * calls), and the accumulator that assembles the pieces into the final message. The pieces come
 * from the engine's ChatTurnDecoder (decoding, stop strings, markup), in OpenAI's terms.
 */
import type { WenxinTokenizer } from "@wenxin/engine";
import { ChatTurnDecoder, type ChatOutputEvent, type ChatPrompt } from "@wenxin/engine/internal";

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

/** One choice's turn: generated ids → pieces, tool calls numbered as OpenAI numbers them. */
export class AssistantTurn {
  private readonly turn: ChatTurnDecoder;
  /** Decoder call index → index in `tool_calls`: blocks that are not calls take no index. */
  private readonly callIndex = new Map<number, number>();

  /** `stop`: stop strings, matched on the model's own text (markup included). */
  constructor(tokenizer: WenxinTokenizer, prompt: Pick<ChatPrompt, "parser" | "prefill">, stop: string[]) {
    this.turn = new ChatTurnDecoder(tokenizer, { parser: prompt.parser, prefill: prompt.prefill, stop });
  }

  /** True once the output is complete: a stop string, a finished forced call or JSON reply. */
  get done(): boolean {
    return this.turn.done;
  }

  /** True when a stop string ended the output. */
  get stoppedByString(): boolean {
    return this.turn.stoppedByString;
  }

  /** Pieces the prompt's prefill produced (usually none until generated text follows). */
  start(): AssistantPiece[] {
    return this.pieces(this.turn.start());
  }

  push(tokenIds: ArrayLike<number>): AssistantPiece[] {
    return this.pieces(this.turn.push(tokenIds));
  }

  /** Ends the turn (the engine finished or the choice was stopped). */
  end(): AssistantPiece[] {
    return this.pieces(this.turn.end());
  }

  private pieces(events: ChatOutputEvent[]): AssistantPiece[] {
    const pieces: AssistantPiece[] = [];
    for (const e of events) {
      switch (e.type) {
        case "text":
          pieces.push({ kind: "content", text: e.text });
          break;
        case "reasoning":
          pieces.push({ kind: "reasoning", text: e.text });
          break;
        case "tool_call_begin":
          this.callIndex.set(e.index, this.callIndex.size);
          pieces.push({ kind: "tool_call_start", index: this.callIndex.get(e.index)!, id: e.id, name: e.name });
          break;
        case "tool_call_delta":
          pieces.push({ kind: "tool_call_arguments", index: this.callIndex.get(e.index)!, text: e.arguments });
          break;
        case "tool_call_invalid":
          // A block that never looked like a call stays visible as text; one already streamed as a
          // call keeps its (broken) arguments, as OpenAI clients expect to validate them anyway.
          if (!e.begun) pieces.push({ kind: "content", text: e.call.arguments });
          break;
        case "tool_call_end":
          break;
      }
    }
    return pieces;
  }
}
