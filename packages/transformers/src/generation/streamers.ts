/**
 * Streamers receive token ids while `generate()` runs, as in transformers.js: `put()` gets a batch
 * of one row of bigint ids, the prompt first, then each step's new ids; `end()` closes, `abort()`
 * reports a failure. TextStreamer turns them into text as transformers.js' does: it decodes the
 * ids since the last line break and hands out whole words (text up to the last space), every CJK
 * character as it comes, a line at its break and the rest at the end; TextIteratorStreamer is an
 * async iterable of those pieces.
 */
import { WenxinError } from "@wenxin/engine";

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

function asRow(value: StreamedIds): bigint[] {
  const rows =
    value.length > 0 && Array.isArray(value[0]) ? (value as (number | bigint)[][]) : [value as (number | bigint)[]];
  if (rows.length > 1)
    throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "TextStreamer only supports a batch of one sequence");
  return (rows[0] ?? []).map((id) => BigInt(id));
}

/** The CJK ideograph blocks transformers.js (after Python's BERT tokenizer) prints character by character. */
const CJK_BLOCKS: [number, number][] = [
  [0x4e00, 0x9fff],
  [0x3400, 0x4dbf],
  [0x20000, 0x2a6df],
  [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f],
  [0x2b820, 0x2ceaf],
  [0xf900, 0xfaff],
  [0x2f800, 0x2fa1f],
];

function endsWithCjk(text: string): boolean {
  const last = text.codePointAt(text.length - 1);
  const cp = last !== undefined && last >= 0xdc00 && last <= 0xdfff ? text.codePointAt(text.length - 2) : last;
  return cp !== undefined && CJK_BLOCKS.some(([lo, hi]) => cp >= lo && cp <= hi);
}

export class TextStreamer implements BaseStreamer {
  private readonly skipPrompt: boolean;
  private readonly skipSpecial: boolean;
  private readonly callback: ((text: string) => void) | undefined;
  private readonly tokenCallback: ((ids: bigint[]) => void) | undefined;
  private nextIsPrompt = true;
  /** Ids since the last flush (a line break, the prompt) and how much of their text is out. */
  private cache: bigint[] = [];
  private printed = 0;

  constructor(
    readonly tokenizer: PreTrainedTokenizer,
    options: TextStreamerOptions = {},
  ) {
    this.skipSpecial = options.decode_kwargs?.skip_special_tokens ?? options.skip_special_tokens ?? true;
    this.skipPrompt = options.skip_prompt ?? false;
    this.callback = options.callback_function ?? undefined;
    this.tokenCallback = options.token_callback_function ?? undefined;
  }

  put(value: StreamedIds): void {
    const ids = asRow(value);
    const isPrompt = this.nextIsPrompt;
    this.nextIsPrompt = false;
    if (isPrompt && this.skipPrompt) return;
    this.tokenCallback?.(ids);
    this.cache.push(...ids);
    const text = this.tokenizer.decode(this.cache, { skip_special_tokens: this.skipSpecial });
    let piece: string;
    if (isPrompt || text.endsWith("\n")) {
      piece = text.slice(this.printed);
      this.cache = [];
      this.printed = 0;
    } else if (endsWithCjk(text)) {
      piece = text.slice(this.printed);
      this.printed += piece.length;
    } else {
      // Up to the last space: the word after it may still change with the next token.
      piece = text.slice(this.printed, Math.max(this.printed, text.lastIndexOf(" ") + 1));
      this.printed += piece.length;
    }
    this.on_finalized_text(piece, false);
  }

  end(): void {
    const rest =
      this.cache.length > 0
        ? this.tokenizer.decode(this.cache, { skip_special_tokens: this.skipSpecial }).slice(this.printed)
        : "";
    this.reset();
    this.on_finalized_text(rest, true);
  }

  abort(_reason?: unknown): void {
    this.reset();
  }

  /** Ready for the next generate(): the next put is a prompt again. */
  private reset(): void {
    this.nextIsPrompt = true;
    this.cache = [];
    this.printed = 0;
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
