import { describe, expect, it } from "vitest";

import { JsonValueScanner } from "../../src/chat/json_scanner.js";

function scanInPieces(text: string, size: number): number {
  const s = new JsonValueScanner();
  for (let i = 0; i < text.length; i += size) {
    const end = s.push(text.slice(i, i + size));
    if (end >= 0) return i + end;
  }
  return -1;
}

describe("JsonValueScanner", () => {
  it.each([
    ['{"a": 1} trailing', 8],
    ['  {"a": {"b": [1, 2, {"c": "}"}]}}\n</tool_call>', 34],
    ['{"s": "quote \\" and brace } inside"}xyz', 36],
    ['["x", "]"], more', 10],
    ['"just a string" after', 15],
    ['{"emoji": "文心\\\\"}!', 17],
  ])("finds the end of %j at %i, however the text is split", (text, end) => {
    expect(JSON.parse(text.slice(0, end))).toBeDefined();
    for (const size of [1, 2, 3, 7, 1000]) expect(scanInPieces(text, size)).toBe(end);
  });

  it("reports incomplete values as not complete", () => {
    const s = new JsonValueScanner();
    expect(s.push('{"a": [1, 2')).toBe(-1);
    expect(s.complete).toBe(false);
    expect(s.push("]")).toBe(-1);
    expect(s.push("}")).toBe(1); // the value ends after the first character of this piece
    expect(s.complete).toBe(true);
    expect(s.push("{}")).toBe(-1); // nothing after the value is read
  });

  it("marks text that does not start a JSON object, array or string as invalid", () => {
    const s = new JsonValueScanner();
    expect(s.push("  hello {}")).toBe(-1);
    expect(s.invalid).toBe(true);
    expect(s.complete).toBe(false);
  });
});
