/**
 * One assistant turn, from generated token ids to reply text, reasoning and tool calls, as it
 * streams: ids → text that keeps ERNIE's markup tokens (ChatTokenDecoder) → stop strings cut on
 * that text, markup included (StopStringMatcher, windowed) → the markup parsed (ChatOutputParser).
 * Every stage does bounded work per token. The server and ChatWenxin's local backend both read
 * their model's output through this class.
 */
import { StopStringMatcher } from "../generation/stop_strings.js";
import type { WenxinTokenizer } from "../tokenizer/tokenizer.js";
import { ChatTokenDecoder } from "./output_decoder.js";
import { ChatOutputParser, type ChatOutputParserOptions } from "./output_parser.js";
import type { ChatOutput, ChatOutputEvent } from "./chat_types.js";

export interface ChatTurnDecoderOptions {
  /** How to read the markup (ChatPrompt.parser). */
  parser?: ChatOutputParserOptions;
  /** Text the prompt already wrote for this turn (ChatPrompt.prefill, e.g. a forced call's head). */
  prefill?: string;
  /** Stop strings: the turn ends before the first one. */
  stop?: readonly string[];
}

export class ChatTurnDecoder {
  private readonly decoder: ChatTokenDecoder;
  private readonly stops: StopStringMatcher;
  private readonly parser: ChatOutputParser;
  private readonly initial: ChatOutputEvent[];
  private ended = false;

  constructor(tokenizer: WenxinTokenizer, options: ChatTurnDecoderOptions = {}) {
    this.decoder = new ChatTokenDecoder(tokenizer);
    this.stops = new StopStringMatcher(options.stop ?? []);
    this.parser = new ChatOutputParser(options.parser);
    this.initial = options.prefill ? this.parser.push(options.prefill) : [];
  }

  /** What the prefill produced (usually nothing until generated text follows). */
  start(): ChatOutputEvent[] {
    return this.initial.splice(0);
  }

  /** True once the turn is over: a stop string, or a forced call / JSON reply that is complete. */
  get done(): boolean {
    return this.stops.stopped || this.parser.done;
  }

  /** True when a stop string ended the turn. */
  get stoppedByString(): boolean {
    return this.stops.stopped;
  }

  /** True while the output is reasoning (the next tokens count as reasoning tokens). */
  get inReasoning(): boolean {
    return this.parser.inReasoning;
  }

  /** Reads generated ids; returns the events they completed. */
  push(tokenIds: ArrayLike<number>): ChatOutputEvent[] {
    if (this.done) return [];
    return this.parser.push(this.stops.push(this.decoder.push(tokenIds)));
  }

  /** Ends the turn (generation finished, or the caller stopped it): flushes and closes what is open. */
  end(): ChatOutputEvent[] {
    if (this.ended) return [];
    this.ended = true;
    const events: ChatOutputEvent[] = [];
    if (!this.done) {
      const text = this.stops.push(this.decoder.flush());
      events.push(...this.parser.push(this.stops.stopped ? text : text + this.stops.flush()));
    }
    events.push(...this.parser.finish());
    return events;
  }

  /** Everything parsed so far (after end(): the whole turn). */
  result(): ChatOutput {
    return this.parser.result();
  }
}
