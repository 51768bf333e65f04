/**
 * Streamers receive token ids while `generate()` runs, as in transformers: `put()` first gets the
 * prompt ids, then each step's new ids; `end()` closes. TextStreamer turns them into text (never
 * splitting a UTF-8 character) for a callback or stdout; TextIteratorStreamer is an async iterable
 * of those text pieces.
 */
import { IncrementalDecoder, WenxinError } from "@wenxin/engine";

import type { PreTrainedTokenizer } from "../tokenization/tokenization_utils.js";

export interface BaseStreamer {
  /** Prompt ids first (a batch of one may come as [ids]), then the new ids of every step. */
  put(value: number[] | number[][]): void;
  end(): void;
  /** Called instead of end() when generation fails. */
  error?(err: unknown): void;
}

export interface TextStreamerOptions {
  /** Do not print the prompt (the first put). Default false. */
  skip_prompt?: boolean;
  skip_special_tokens?: boolean;
  /** Receives each piece of text; default: write it to stdout. */
  callback_function?: (text: string) => void;
  /** Receives the raw ids of each put after the prompt. */
  token_callback_function?: (ids: number[]) => void;
}

function asRow(value: number[] | number[][]): number[] {
  if (value.length > 0 && Array.isArray(value[0])) {
    if (value.length > 1)
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "streamers only support a batch of one sequence");
    return value[0] as number[];
  }
  return value as number[];
}

export class TextStreamer implements BaseStreamer {
  private readonly decoder: IncrementalDecoder;
  private readonly skipPrompt: boolean;
  private readonly callback: ((text: string) => void) | undefined;
  private readonly tokenCallback: ((ids: number[]) => void) | undefined;
  private promptSeen = false;

  constructor(
    readonly tokenizer: PreTrainedTokenizer,
    options: TextStreamerOptions = {},
  ) {
    this.decoder = new IncrementalDecoder(tokenizer.inner, { skipSpecialTokens: options.skip_special_tokens ?? false });
    this.skipPrompt = options.skip_prompt ?? false;
    this.callback = options.callback_function;
    this.tokenCallback = options.token_callback_function;
  }

  put(value: number[] | number[][]): void {
    const ids = asRow(value);
    const isPrompt = !this.promptSeen;
    this.promptSeen = true;
    if (isPrompt && this.skipPrompt) return;
    if (!isPrompt) this.tokenCallback?.(ids);
    const text = this.decoder.push(ids);
    if (text) this.on_finalized_text(text, false);
  }

  end(): void {
    this.on_finalized_text(this.decoder.flush(), true);
  }

  /** Handles finished text; override to send it elsewhere. */
  on_finalized_text(text: string, stream_end: boolean): void {
    if (this.callback) {
      if (text) this.callback(text);
      return;
    }
    process.stdout.write(stream_end ? `${text}\n` : text);
  }
}

/** `for await (const text of streamer)` while generate() runs. Errors of generate reach the loop. */
export class TextIteratorStreamer extends TextStreamer implements AsyncIterable<string> {
  private readonly pieces: string[] = [];
  private finished = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;

  constructor(tokenizer: PreTrainedTokenizer, options: Omit<TextStreamerOptions, "callback_function"> = {}) {
    super(tokenizer, options);
  }

  override on_finalized_text(text: string, stream_end: boolean): void {
    if (text) this.pieces.push(text);
    if (stream_end) this.finished = true;
    this.notify();
  }

  error(err: unknown): void {
    this.failure = { error: err };
    this.finished = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (;;) {
      while (this.pieces.length > 0) yield this.pieces.shift()!;
      if (this.failure) throw this.failure.error;
      if (this.finished) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** Python's name for the async-iterator streamer. */
export const AsyncTextIteratorStreamer = TextIteratorStreamer;
