/**
 * Streaming detokenizer. Decoding token by token is wrong for byte-fallback pieces (one CJK char or
 * emoji is 3-4 `<0xNN>` tokens) and for decoders whose output depends on neighbours, so each push
 * decodes a short window of recent ids twice — the part already emitted and the whole window — and
 * emits the difference once it no longer ends in U+FFFD (an incomplete UTF-8 tail). The window
 * restarts after every emission, so the cost is O(new tokens) amortised.
 *
 * For valid UTF-8 the concatenated chunks equal `tokenizer.decode(allIds)`. For byte runs that are
 * invalid UTF-8 the full decode (like transformers) can retroactively turn already-emitted
 * characters of the same run into U+FFFD; a stream cannot take text back, so there it may differ.
 * The window is bounded too when the output itself ends in U+FFFD (a real one, or invalid bytes)
 * or adds no text (skipped special tokens): past MAX_PENDING_IDS held ids, all but the last three
 * (the most an incomplete UTF-8 character can still be waiting on) are emitted as they decode.
 */
import { WenxinError } from "../errors.js";
import type { WenxinTokenizer } from "./tokenizer.js";

export interface IncrementalDecoderOptions {
  skipSpecialTokens?: boolean;
}

const REPLACEMENT = "\uFFFD";
/** Held ids past which the window moves on even without a clean end (keeps each push O(1)). */
const MAX_PENDING_IDS = 8;
/** The most byte pieces an incomplete UTF-8 character can span before the byte that completes it. */
const MAX_INCOMPLETE_BYTES = 3;

export class IncrementalDecoder {
  private readonly skipSpecialTokens: boolean;
  /** Ids since the start of the current window. */
  private window: number[] = [];
  /** How many ids of the window have already been emitted. */
  private readCount = 0;
  /** decode(window[0, readCount)): the emitted part of the window, as text. */
  private readText = "";
  private emitted = "";

  constructor(
    private readonly tokenizer: WenxinTokenizer,
    opts: IncrementalDecoderOptions = {},
  ) {
    this.skipSpecialTokens = opts.skipSpecialTokens ?? false;
  }

  /** All text emitted so far. */
  get text(): string {
    return this.emitted;
  }

  /** Adds ids; returns the text they completed (possibly ""). */
  push(ids: number | ArrayLike<number>): string {
    const list = typeof ids === "number" ? [ids] : Array.from(ids);
    // Validate first so a bad id leaves the decoder state untouched.
    for (const id of list) {
      if (!Number.isInteger(id) || id < 0 || id >= this.tokenizer.vocabSize) {
        throw new WenxinError(
          "ERR_WENXIN_TOKEN_OUT_OF_RANGE",
          `Token id ${id} is outside the vocabulary [0, ${this.tokenizer.vocabSize})`,
          {
            expected: `[0, ${this.tokenizer.vocabSize})`,
            actual: id,
          },
        );
      }
    }
    if (list.length === 0) return "";
    const before = this.window.length;
    for (const id of list) this.window.push(id);

    const full = this.decode(this.window);
    if (this.completes(full)) return this.advance(this.window.length, full);
    // Incomplete tail: emit what precedes it when several ids came at once. A pending UTF-8
    // character is at most 3 byte pieces, and shorter prefixes were checked by earlier pushes.
    for (let p = this.window.length - 1; p > Math.max(this.readCount, before, this.window.length - 4); p--) {
      const text = this.decode(this.window.slice(0, p));
      if (this.completes(text)) return this.advance(p, text);
    }
    // Still no clean end after many ids: the U+FFFD is in the output for good (no character can
    // be waiting on more than the last three ids), so move on without waiting for one.
    if (this.window.length - this.readCount > MAX_PENDING_IDS) {
      const p = this.window.length - MAX_INCOMPLETE_BYTES;
      return this.advance(p, this.decode(this.window.slice(0, p)));
    }
    return "";
  }

  /** Emits whatever is held back (an incomplete tail becomes U+FFFD, as in a full decode) and resets the window. */
  flush(): string {
    const full = this.decode(this.window);
    const chunk = full.length > this.readText.length ? full.slice(this.readText.length) : "";
    this.window = [];
    this.readCount = 0;
    this.readText = "";
    this.emitted += chunk;
    return chunk;
  }

  /** `text` (the decode of a window prefix) adds output and does not end inside a character. */
  private completes(text: string): boolean {
    return text.length > this.readText.length && !text.endsWith(REPLACEMENT);
  }

  /** Emits decode(window[0, end)) past what was already emitted and moves the window forward. */
  private advance(end: number, text: string): string {
    const chunk = text.length > this.readText.length ? text.slice(this.readText.length) : "";
    // The next window starts at the old read point: the tokens just emitted are enough context
    // for decoders that strip or merge at token boundaries; everything older is dropped.
    this.window = this.window.slice(this.readCount);
    this.readCount = end - this.readCount;
    this.readText = this.decode(this.window.slice(0, this.readCount));
    this.emitted += chunk;
    return chunk;
  }

  private decode(ids: number[]): string {
    return this.tokenizer.decode(ids, { skipSpecialTokens: this.skipSpecialTokens });
  }
}
