/**
 * Refuses a text too long to fit the context before it is tokenized. Tokenizing costs microseconds
 * to tens of microseconds per character (a 4 MiB body: minutes), while no token spells more
 * than the vocabulary's longest piece: a text longer than maxContext × that many characters cannot
 * encode to fewer than maxContext tokens, and is refused at the cost of reading its length.
 */
import type { Engine } from "@wenxin/engine";

import { ApiError } from "../errors.js";

const longestPiece = new WeakMap<Engine, number>();

/** Characters of the longest token of the vocabulary (special tokens included: a text may spell one). */
function longestPieceChars(engine: Engine): number {
  let longest = longestPiece.get(engine);
  if (longest !== undefined) return longest;
  longest = 1;
  for (let id = 0; id < engine.tokenizer.vocabSize; id++) {
    try {
      longest = Math.max(longest, engine.tokenizer.idToToken(id).length);
    } catch {
      // an id without a piece
    }
  }
  longestPiece.set(engine, longest);
  return longest;
}

/** The most characters a text of at most `tokens` tokens can have. */
export function maxCharsOf(engine: Engine, tokens: number): number {
  return tokens * longestPieceChars(engine);
}

/** Throws 400 `context_length_exceeded` when `text` cannot fit the context, without tokenizing it. */
export function assertMayFitContext(engine: Engine, text: string, param: string): void {
  const limit = maxCharsOf(engine, engine.maxContext);
  if (text.length > limit)
    throw new ApiError(
      400,
      "invalid_request_error",
      `This model's maximum context length is ${engine.maxContext} tokens. However, '${param}' has ${text.length} characters, more than ${engine.maxContext} tokens can hold (${limit}).`,
      "context_length_exceeded",
      param,
    );
}

/**
 * Tokenizes `text` once it is known it may fit the context. A text that may is still up to
 * maxContext × the longest piece in characters (~86,000 for 4096 tokens), which takes hundreds of
 * milliseconds to encode: a long one is encoded on the tokenizer's worker thread, not the event loop.
 * When `closed` aborts meanwhile (the server drains and closes the engine, and with it the
 * tokenizer's threads), the request fails with its reason (503 `server_draining`).
 */
export async function encodeWithinContext(
  engine: Engine,
  text: string,
  param: string,
  closed?: AbortSignal,
): Promise<number[]> {
  assertMayFitContext(engine, text, param);
  return whileOpen(closed, () => engine.tokenizer.encodeAsync(text, { signal: closed }));
}

/** `work()`, failing with `closed`'s reason instead of whatever it failed with once `closed` aborted. */
export async function whileOpen<T>(closed: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw closed?.aborted ? closed.reason : err;
  }
}
