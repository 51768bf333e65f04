/**
 * Turns a set of code points into UTF-8 byte patterns: a list of sequences of byte ranges, each
 * sequence matching the encodings of one contiguous block of code points. The native matcher works
 * on bytes, so a character class becomes alternatives of these sequences, and only well-formed
 * UTF-8 can ever match.
 */
import type { CodePointRanges } from "./grammar_ast.js";

export type ByteRange = [number, number];

const LENGTH_LIMITS = [0x7f, 0x7ff, 0xffff, 0x10ffff];

function encode(cp: number): number[] {
  if (cp <= 0x7f) return [cp];
  if (cp <= 0x7ff) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp <= 0xffff) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}

/** Splits [lo, hi] (same encoded length) until every byte position varies independently. */
function sameLength(lo: number, hi: number, length: number, out: ByteRange[][]): void {
  for (let i = 1; i < length; i++) {
    const m = (1 << (6 * i)) - 1;
    if ((lo & ~m) !== (hi & ~m)) {
      if ((lo & m) !== 0) {
        sameLength(lo, lo | m, length, out);
        sameLength((lo | m) + 1, hi, length, out);
        return;
      }
      if ((hi & m) !== m) {
        sameLength(lo, (hi & ~m) - 1, length, out);
        sameLength(hi & ~m, hi, length, out);
        return;
      }
    }
  }
  const a = encode(lo);
  const b = encode(hi);
  out.push(a.map((x, i) => [x, b[i]] as ByteRange));
}

/** A set of bytes as inclusive ranges. */
export type ByteSetRanges = ByteRange[];

/**
 * UTF-8 patterns for `ranges` (which must hold no surrogates): alternatives, each a sequence of
 * byte sets. Sequences that differ only in their first byte share one alternative.
 */
export function utf8Sequences(ranges: CodePointRanges): ByteSetRanges[][] {
  const raw: ByteRange[][] = [];
  for (const [rlo, rhi] of ranges) {
    let lo = rlo;
    for (let n = 0; n < LENGTH_LIMITS.length && lo <= rhi; n++) {
      if (lo > LENGTH_LIMITS[n]) continue;
      const hi = Math.min(rhi, LENGTH_LIMITS[n]);
      sameLength(lo, hi, n + 1, raw);
      lo = hi + 1;
    }
  }
  const byTail = new Map<string, ByteSetRanges[]>();
  for (const s of raw) {
    const key = `${s.length}:${s
      .slice(1)
      .map(([a, b]) => `${a}-${b}`)
      .join(",")}`;
    const found = byTail.get(key);
    if (found) found[0].push(s[0]);
    else byTail.set(key, [[s[0]], ...s.slice(1).map((r) => [r])]);
  }
  return [...byTail.values()];
}
