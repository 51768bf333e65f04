/**
 * Streamers receive token ids while `generate()` runs, as in transformers.js: `put()` gets a batch
 * of one row of bigint ids, the prompt first, then each step's new ids; `end()` closes, `abort()`
 * reports a failure. TextStreamer turns them into text (never splitting a UTF-8 character) for a
 * callback or stdout; TextIteratorStreamer is an async iterable of those text pieces.
 */
import { IncrementalDecoder, WenxinError } from "@wenxin/engine";

import type { PreTrainedTokenizer } from "../tokenization/tokenization_utils.js";

/** Ids as put() receives them: transformers.js' bigint[][] (a batch of one row); number rows are accepted too. */
export type StreamedIds = bigint[][] | number[][] | number[] | bigint[];

export interface BaseStreamer {
  /** A batch of one row of ids: the prompt first, then the new ids of every step. */
  put(value: StreamedIds): void;
  end(): void;
  /** Called instead of end() when generation fails (transformers.js' name). */
  abort?(reason: unknown): void;
  /** This package's earlier name for abort(). */
  error?(err: unknown): void;
}

export interface TextStreamerOptions {
  /** Do not print the prompt (the first put). Default false. */
  skip_prompt?: boolean;
  /** Leave special tokens out of the text. Default true, as in transformers.js. */
  skip_special_tokens?: boolean;
  /** Receives each piece of text; default: write it to stdout (with a newline at the end). */
  callback_function?: ((text: string) => void) | null;
  /** Receives the ids of each put (a bigint row), the prompt's too unless skipped. */
  token_callback_function?: ((ids: bigint[]) => void) | null;
  /** More decode options (transformers.js); `skip_special_tokens` is the one this tokenizer uses. */
  decode_kwargs?: { skip_special_tokens?: boolean };
}

function asRow(value: StreamedIds): number[] {
  const rows =
    value.length > 0 && Array.isArray(value[0]) ? (value as (number | bigint)[][]) : [value as (number | bigint)[]];
  if (rows.length > 1)
    throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "TextStreamer only supports a batch of one sequence");
  return (rows[0] ?? []).map(Number);
}

export class TextStreamer implements BaseStreamer {
  private decoder: IncrementalDecoder;
  private readonly skipPrompt: boolean;
  private readonly skipSpecial: boolean;
  private readonly callback: ((text: string) => void) | undefined;
  private readonly tokenCallback: ((ids: bigint[]) => void) | undefined;
  private nextIsPrompt = true;

  constructor(
    readonly tokenizer: PreTrainedTokenizer,
    options: TextStreamerOptions = {},
  ) {
    this.skipSpecial = options.decode_kwargs?.skip_special_tokens ?? options.skip_special_tokens ?? true;
    this.decoder = new IncrementalDecoder(tokenizer.inner, { skipSpecialTokens: this.skipSpecial });
    this.skipPrompt = options.skip_prompt ?? false;
    this.callback = options.callback_function ?? undefined;
    this.tokenCallback = options.token_callback_function ?? undefined;
  }

  put(value: StreamedIds): void {
    const ids = asRow(value);
    const isPrompt = this.nextIsPrompt;
    this.nextIsPrompt = false;
    if (isPrompt && this.skipPrompt) return;
    this.tokenCallback?.(ids.map((id) => BigInt(id)));
    const text = this.decoder.push(ids);
    if (text) this.on_finalized_text(text, false);
  }

  end(): void {
    const rest = this.decoder.flush();
    this.reset();
    this.on_finalized_text(rest, true);
  }

  abort(_reason?: unknown): void {
    this.reset();
  }

  /** Ready for the next generate(): the next put is a prompt again. */
  private reset(): void {
    this.nextIsPrompt = true;
    this.decoder = new IncrementalDecoder(this.tokenizer.inner, { skipSpecialTokens: this.skipSpecial });
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

  override abort(reason?: unknown): void {
    this.error(reason);
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
