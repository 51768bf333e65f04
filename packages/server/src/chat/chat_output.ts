/**
 * One choice's generated tokens → AssistantPieces, through @wenxin/engine's chat layer:
 * ChatTokenDecoder keeps ERNIE's markup tokens (`<think>`, `<tool_call>`) in the text, stop
 * strings are cut here (on the text the model wrote, markup included), and ChatOutputParser
 * splits the rest into reply text, reasoning and tool calls.
 */
import {
  ChatOutputParser,
  ChatTokenDecoder,
  StopStringMatcher,
  type ChatOutputEvent,
  type ChatOutputParserOptions,
  type WenxinTokenizer,
} from "@wenxin/engine";

import type { AssistantPiece } from "./assistant_output.js";

export class ChatChoiceOutput {
  private readonly decoder: ChatTokenDecoder;
  private readonly parser: ChatOutputParser;
  private readonly stops: StopStringMatcher;
  private text = "";
  /** Characters of `text` handed to the parser. */
  private fed = 0;
  private stopped = false;
  private readonly initial: AssistantPiece[];
  /** Parser call index → index in `tool_calls`: blocks that are not calls take no index. */
  private readonly callIndex = new Map<number, number>();

  constructor(tokenizer: WenxinTokenizer, parserOptions: ChatOutputParserOptions, prefill: string, stop: string[]) {
    this.decoder = new ChatTokenDecoder(tokenizer);
    this.parser = new ChatOutputParser(parserOptions);
    this.stops = new StopStringMatcher(stop);
    // The prompt already wrote the start of the turn (a forced tool call's head): parse it first.
    this.initial = prefill ? this.toPieces(this.parser.push(prefill)) : [];
  }

  /** Pieces the prompt's prefill produced (usually none until generated text follows). */
  start(): AssistantPiece[] {
    return this.initial;
  }

  /** True once the output is complete: a stop string, a finished forced call or JSON reply. */
  get done(): boolean {
    return this.stopped || this.parser.done;
  }

  /** True when a stop string ended the output. */
  get stoppedByString(): boolean {
    return this.stopped;
  }

  push(tokenIds: ArrayLike<number>): AssistantPiece[] {
    if (this.done) return [];
    this.text += this.decoder.push(tokenIds);
    return this.feed(false);
  }

  /** Ends the output (the engine finished or the choice was stopped). */
  end(): AssistantPiece[] {
    const pieces: AssistantPiece[] = [];
    if (!this.done) {
      this.text += this.decoder.flush();
      pieces.push(...this.feed(true));
    }
    pieces.push(...this.toPieces(this.parser.finish()));
    return pieces;
  }

  private feed(final: boolean): AssistantPiece[] {
    let upTo = this.text.length;
    if (this.stops.active) {
      const at = this.stops.findStop(this.text);
      if (at >= 0) {
        upTo = at;
        this.stopped = true;
      } else if (!final) upTo -= this.stops.heldBack(this.text);
    }
    if (upTo <= this.fed) return [];
    const fresh = this.text.slice(this.fed, upTo);
    this.fed = upTo;
    return this.toPieces(this.parser.push(fresh));
  }

  private toPieces(events: ChatOutputEvent[]): AssistantPiece[] {
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
