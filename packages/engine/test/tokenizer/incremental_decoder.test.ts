import { describe, it, expect } from "vitest";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WenxinError } from "../../src/errors.js";
import { IncrementalDecoder } from "../../src/tokenizer/incremental_decoder.js";
import { WenxinTokenizer } from "../../src/tokenizer/tokenizer.js";

const FIXTURES = fileURLToPath(new URL("../../../../test/fixtures/ernie45/", import.meta.url));
const tok = await WenxinTokenizer.fromDirectory(path.join(FIXTURES, "tiny-ernie45-dense"));
const { cases } = JSON.parse(await readFile(path.join(FIXTURES, "tokenizer-cases.json"), "utf8")) as {
  cases: { text: string; ids: number[]; decoded: string; decoded_skip_special: string }[];
};

function stream(
  ids: number[],
  chunkSize: number,
  skipSpecialTokens = false,
): { chunks: string[]; dec: IncrementalDecoder } {
  const dec = new IncrementalDecoder(tok, { skipSpecialTokens });
  const chunks: string[] = [];
  for (let i = 0; i < ids.length; i += chunkSize) {
    const slice = ids.slice(i, i + chunkSize);
    chunks.push(chunkSize === 1 ? dec.push(slice[0]) : dec.push(slice));
  }
  chunks.push(dec.flush());
  return { chunks, dec };
}

describe("IncrementalDecoder", () => {
  it.each(cases.map((c) => [JSON.stringify(c.text), c] as const))("streams %s one id at a time", (_label, c) => {
    for (const [skip, expected] of [
      [false, c.decoded],
      [true, c.decoded_skip_special],
    ] as const) {
      const { chunks, dec } = stream(c.ids, 1, skip);
      expect(chunks.join("")).toBe(expected);
      expect(dec.text).toBe(expected);
      if (!expected.includes("\uFFFD")) for (const chunk of chunks) expect(chunk).not.toContain("\uFFFD");
    }
  });

  it("gives the same text for any chunking", () => {
    const all = cases.flatMap((c) => c.ids);
    const expected = tok.decode(all);
    for (const size of [1, 2, 3, 7, all.length]) expect(stream(all, size).chunks.join("")).toBe(expected);
  });

  it("holds back a multi-byte character until its last byte arrives", () => {
    const dec = new IncrementalDecoder(tok);
    expect(dec.push(tok.encode("go "))).toBe("go ");
    // 🚀 = <0xF0><0x9F><0x9A><0x80>
    expect(dec.push(272)).toBe("");
    expect(dec.push(191)).toBe("");
    expect(dec.push(186)).toBe("");
    expect(dec.push(160)).toBe("🚀");
    expect(dec.push(tok.encode("!"))).toBe("!");
    expect(dec.text).toBe("go 🚀!");
  });

  it("flush() turns an incomplete tail into U+FFFD, like a full decode", () => {
    const dec = new IncrementalDecoder(tok);
    expect(dec.push([5928, 265, 222])).toBe("a");
    expect(dec.flush()).toBe(tok.decode([265, 222]));
    expect(dec.flush()).toBe("");
    expect(dec.push(5942)).toBe("b");
  });

  it("rejects out-of-range ids without corrupting its state", () => {
    const dec = new IncrementalDecoder(tok);
    dec.push(5928);
    expect(() => dec.push([5942, tok.vocabSize])).toThrow(WenxinError);
    expect(dec.push(5942)).toBe("b");
    expect(dec.text).toBe("ab");
  });

  it("decodes only a short trailing window per push (amortised O(new tokens))", () => {
    let decodedIds = 0;
    const counting = Object.create(tok) as WenxinTokenizer;
    counting.decode = (ids, opts) => {
      decodedIds += ids.length;
      return tok.decode(ids, opts);
    };
    const ids = Array.from({ length: 50 }, () => cases.flatMap((c) => c.ids)).flat();
    const dec = new IncrementalDecoder(counting);
    for (const id of ids) dec.push(id);
    dec.flush();
    expect(dec.text).toBe(tok.decode(ids));
    // Windows span the last emitted token plus what is pending: a small constant per token.
    expect(decodedIds).toBeLessThan(ids.length * 8); // measured ≈ 3.9
  });

  it("keeps its window bounded when the output really ends in U+FFFD or adds no text", () => {
    let decodedIds = 0;
    const counting = Object.create(tok) as WenxinTokenizer;
    counting.decode = (ids, opts) => {
      decodedIds += ids.length;
      return tok.decode(ids, opts);
    };
    // <0x80> (id 160) alone is invalid UTF-8: every one decodes to U+FFFD for good. Special
    // tokens decode to nothing when skipped.
    const special = [...tok.allSpecialIds][0]!;
    for (const [ids, skip] of [
      [Array.from({ length: 2000 }, () => 160), false],
      [Array.from({ length: 2000 }, () => special), true],
    ] as const) {
      decodedIds = 0;
      const dec = new IncrementalDecoder(counting, { skipSpecialTokens: skip });
      const chunks = ids.map((id) => dec.push(id));
      chunks.push(dec.flush());
      expect(chunks.join("")).toBe(tok.decode([...ids], { skipSpecialTokens: skip }));
      if (!skip) expect(chunks.filter((c) => c.length > 0).length).toBeGreaterThan(200); // streamed, not held to the end
      expect(decodedIds).toBeLessThan(ids.length * 40); // was quadratic: ≈ ids² / 2
    }
  });
});
