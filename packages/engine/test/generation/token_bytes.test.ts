// The byte strings the native matcher sees are what the tokenizer decodes each token to.
import { describe, expect, it } from "vitest";

import { tokenBytes } from "../../src/generation/token_bytes.js";
import { WenxinTokenizer } from "../../src/index.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

describe("tokenBytes", () => {
  it("gives every token the bytes it decodes to; byte pieces are single bytes; specials are flagged", async () => {
    const tok = await WenxinTokenizer.fromDirectory(DENSE_DIR);
    const { bytes, offsets, special } = tokenBytes(tok);
    expect(offsets.length).toBe(tok.vocabSize + 1);
    const of = (id: number) => Buffer.from(bytes.subarray(offsets[id], offsets[id + 1]));
    let bytePieces = 0;
    for (let id = 0; id < tok.vocabSize; id++) {
      const piece = tok.idToToken(id);
      if (tok.isSpecial(id)) {
        expect(special[id], piece).toBe(1);
        expect(of(id).toString("utf8")).toBe(piece);
      } else if (/^<0x[0-9A-F]{2}>$/.test(piece)) {
        bytePieces++;
        expect(of(id)).toEqual(Buffer.from([parseInt(piece.slice(3, 5), 16)]));
      } else {
        expect(special[id]).toBe(0);
        expect(of(id).toString("utf8"), piece).toBe(tok.decode([id]));
      }
    }
    expect(bytePieces).toBe(256);
    // Runs of byte pieces decode to the UTF-8 of their bytes.
    const ids = tok.encode("文心 😀 ok");
    expect(Buffer.concat(ids.map(of)).toString("utf8")).toBe("文心 😀 ok");
  });
});
