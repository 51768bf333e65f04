/**
 * The byte string of every token, as the native constraint matcher sees the vocabulary. ERNIE's
 * tokenizer is SentencePiece BPE with byte fallback: `<0xNN>` pieces are the single byte NN, `▁`
 * stands for a space, and every other piece is its own UTF-8. Special tokens keep their written
 * form (so a trigger like `<tool_call>` can be found) but are flagged: they never match grammar text.
 */
import type { WenxinTokenizer } from "../tokenizer/tokenizer.js";

export interface TokenBytes {
  /** Token i is bytes[offsets[i] .. offsets[i + 1]). */
  bytes: Uint8Array;
  offsets: Int32Array;
  /** 1 for special tokens and ids without a piece. */
  special: Uint8Array;
}

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

export function tokenBytes(tokenizer: WenxinTokenizer): TokenBytes {
  const n = tokenizer.vocabSize;
  const chunks: Uint8Array[] = [];
  const offsets = new Int32Array(n + 1);
  const special = new Uint8Array(n);
  const encoder = new TextEncoder();
  let total = 0;
  for (let id = 0; id < n; id++) {
    let piece: string | undefined;
    try {
      piece = tokenizer.idToToken(id);
    } catch {
      piece = undefined; // an unassigned id: no bytes
    }
    let b: Uint8Array;
    if (piece === undefined) {
      b = new Uint8Array(0);
      special[id] = 1;
    } else if (tokenizer.isSpecial(id)) {
      b = encoder.encode(piece);
      special[id] = 1;
    } else {
      const m = BYTE_PIECE.exec(piece);
      b = m ? Uint8Array.of(parseInt(m[1], 16)) : encoder.encode(piece.replaceAll("\u2581", " "));
    }
    chunks.push(b);
    total += b.length;
    offsets[id + 1] = total;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { bytes, offsets, special };
}
