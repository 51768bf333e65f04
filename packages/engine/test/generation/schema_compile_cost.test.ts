// Issue 18, item 2: a JSON schema under 1 KB once stalled the process. anyOf branches inherit their
// siblings' `properties`, so a value nested k such levels deep was compiled 2^k times (k = 12: a
// 969-byte schema, 17.5 s). Each property value is now compiled once, so the work and the grammar
// grow linearly with the schema.
import { describe, expect, it } from "vitest";

import { jsonSchemaToGbnf } from "../../src/generation/constraint.js";

/** Every level's anyOf branches inherit the level's properties, which hold the next level. */
function nestedAnyOf(depth: number): Record<string, unknown> {
  let s: Record<string, unknown> = { type: "string" };
  for (let k = 0; k < depth; k++) s = { type: "object", properties: { v: s }, anyOf: [{ required: ["v"] }, {}] };
  return s;
}

describe("JSON schema compilation cost", () => {
  it("compiles nested anyOf with inherited properties in time and size linear in the depth", () => {
    const sizes = new Map<number, number>();
    for (const depth of [6, 12, 24]) {
      const started = performance.now();
      sizes.set(depth, jsonSchemaToGbnf(nestedAnyOf(depth)).length);
      // 2^24 compilations would take hours; linear work is milliseconds even on a loaded machine
      expect(performance.now() - started).toBeLessThan(2000);
    }
    expect(JSON.stringify(nestedAnyOf(12)).length).toBeLessThan(1024);
    // doubling the depth roughly doubles the grammar (2^k growth would multiply it by 64, then 4096)
    expect(sizes.get(12)! / sizes.get(6)!).toBeLessThan(3);
    expect(sizes.get(24)! / sizes.get(12)!).toBeLessThan(3);
  });

  it("shares a property value used by many properties instead of copying it", () => {
    const big = {
      type: "object",
      properties: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, { type: "integer" }])),
    };
    const one = jsonSchemaToGbnf({ type: "object", properties: { a: big } }).length;
    const many = jsonSchemaToGbnf({
      type: "object",
      properties: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`p${i}`, big])),
    }).length;
    expect(many).toBeLessThan(3 * one + 50 * 40);
  });
});
