// A highly ambiguous grammar (lists of lists that can split anywhere) once made the native matcher's
// stack sets grow exponentially with the input: a GBNF constraint from an API client could stall the
// engine thread (found by the `grammar` fuzz target). Work per byte is now bounded.
import { describe, expect, it } from "vitest";

import { compileConstraint } from "../../packages/engine/src/generation/constraint.js";
import { nativeAddon } from "../../packages/engine/src/native/binding.js";

const AMBIGUOUS = 'root ::= "a" r1 r3 "."\nr1 ::= "x" r4\nr2 ::= "y" r1\nr3 ::= r2 r3 | ""\nr4 ::= r3 r3 | ""';

describe("ambiguous grammars", () => {
  it("match in bounded time, whatever the input length", () => {
    const g = compileConstraint({ type: "grammar", gbnf: AMBIGUOUS });
    for (const k of [4, 50, 400]) {
      const input = new TextEncoder().encode("ax" + "yx".repeat(k) + ".");
      const t0 = performance.now();
      const r = nativeAddon().grammarMatch(g.rules, g.sets, input);
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(r.consumed).toBeLessThanOrEqual(input.length);
      if (k === 4) expect(r).toMatchObject({ consumed: input.length, accepting: true }); // small inputs still match fully
    }
  });
});
