// Issue 18, item 2: compiling a constraint is bounded in grammar size and time, and can run off the
// event loop. Past a limit the error is typed (ERR_WENXIN_INVALID_ARGUMENT) and names the schema
// path being compiled; `compileConstraintOffThread` (behind Engine.prepareConstraint) compiles on a
// worker thread (the built one: run `pnpm build` first) while the event loop keeps turning.
import { describe, expect, it } from "vitest";

import { compileConstraint, type Constraint } from "../../src/generation/constraint.js";
import { compileConstraintOffThread } from "../../src/generation/constraint_threads.js";
import { WenxinError } from "../../src/index.js";
import { wenxinErrorOf } from "../../../../test/helpers/errors.js";

/** `n` string properties, each with its own length bounds: ~1000 grammar elements per property. */
function boundedStrings(n: number): Constraint {
  const properties = Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`p${i}`, { type: "string", minLength: i, maxLength: 10_000 }]),
  );
  return { type: "json_schema", schema: { type: "object", properties } };
}

describe("constraint compile limits", () => {
  it("refuses a grammar past the size limit, naming the schema path that outgrew it", () => {
    const err = wenxinErrorOf(() =>
      compileConstraint(boundedStrings(300), { maxGrammarSize: 50_000, timeoutMs: 60_000 }),
    );
    expect(err.code).toBe("ERR_WENXIN_INVALID_ARGUMENT");
    expect(err.message).toMatch(
      /^constraint\.schema at #\/properties\/p\d+: the grammar grows past the limit of 50000 elements/,
    );
    expect(err.details.subject).toMatch(/^constraint\.schema at #\/properties\/p\d+$/);
    // the same schema within a larger limit compiles
    expect(
      compileConstraint(boundedStrings(300), { maxGrammarSize: 1_000_000, timeoutMs: 60_000 }).rules.length,
    ).toBeGreaterThan(50_000);
  });

  it("stops compiling at the time limit, naming the schema path it had reached", () => {
    const started = performance.now();
    const err = wenxinErrorOf(() => compileConstraint(boundedStrings(5000), { maxGrammarSize: 1e9, timeoutMs: 200 }));
    expect(performance.now() - started).toBeLessThan(5_000); // unbounded it takes minutes
    expect(err.code).toBe("ERR_WENXIN_INVALID_ARGUMENT");
    expect(err.message).toMatch(
      /^constraint\.schema at #(\/properties\/p\d+)?: compiling took longer than the limit of 200 ms/,
    );
  });

  it("bounds regular expressions and GBNF grammars too", () => {
    const regex = wenxinErrorOf(() =>
      compileConstraint(
        { type: "regex", pattern: "(a{0,9999}b){0,9999}c{0,9999}" },
        { maxGrammarSize: 10_000, timeoutMs: 60_000 },
      ),
    );
    expect(regex.message).toMatch(/^constraint\.pattern .*the grammar grows past the limit of 10000 elements/);
    const gbnf = wenxinErrorOf(() =>
      compileConstraint(
        { type: "grammar", gbnf: 'root ::= x{0,9000}\nx ::= "a" | "b"' },
        { maxGrammarSize: 5_000, timeoutMs: 60_000 },
      ),
    );
    expect(gbnf.message).toMatch(
      /^constraint\.gbnf line 1, column \d+: the grammar grows past the limit of 5000 elements/,
    );
  });

  it("compiles off the event loop: timers keep firing while a worker compiles", async () => {
    let longestGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 10);
    try {
      const started = performance.now();
      const slow = compileConstraintOffThread(boundedStrings(5000), { maxGrammarSize: 1e9, timeoutMs: 1_500 });
      const err = await slow.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WenxinError);
      expect((err as WenxinError).code).toBe("ERR_WENXIN_INVALID_ARGUMENT");
      expect((err as WenxinError).message).toMatch(/compiling took longer than the limit of 1500 ms/);
      expect(performance.now() - started).toBeGreaterThanOrEqual(1_500);
      // a compile on this thread would have held it for the whole 1.5 s limit (below 1 s leaves
      // room for a loaded machine's scheduling)
      expect(longestGap).toBeLessThan(1_000);
      // a good constraint compiles there and comes back whole
      const ok = await compileConstraintOffThread({
        type: "json_schema",
        schema: { type: "object", properties: { n: { type: "integer", multipleOf: 3 } } },
      });
      expect(ok.rules).toBeInstanceOf(Int32Array);
      expect(ok.warnings).toEqual([
        "#/properties/n/multipleOf: 'multipleOf' is not enforced; the output may not meet it",
      ]);
      expect(ok).toEqual(
        compileConstraint({
          type: "json_schema",
          schema: { type: "object", properties: { n: { type: "integer", multipleOf: 3 } } },
        }),
      );
    } finally {
      clearInterval(timer);
    }
  });

  it("stops a compile when its signal aborts, before it starts or while it runs, and compiles again afterwards", async () => {
    const before = new AbortController();
    before.abort();
    await expect(compileConstraintOffThread(boundedStrings(10), undefined, before.signal)).rejects.toMatchObject({
      code: "ERR_WENXIN_ABORTED",
    });
    // a compile of minutes (60 s limit), aborted once it runs: it ends at once, not at its limit
    const running = new AbortController();
    const started = performance.now();
    const slow = compileConstraintOffThread(
      boundedStrings(5000),
      { maxGrammarSize: 1e9, timeoutMs: 60_000 },
      running.signal,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    setTimeout(() => running.abort(), 200);
    const err = await slow;
    expect(err).toBeInstanceOf(WenxinError);
    expect((err as WenxinError).code).toBe("ERR_WENXIN_ABORTED");
    expect(performance.now() - started).toBeLessThan(10_000);
    const ok = await compileConstraintOffThread({ type: "json_schema", schema: { type: "integer" } });
    expect(ok.rules).toBeInstanceOf(Int32Array);
  });

  it("compiles an ordinary constraint while costly ones take the low-priority lane", async () => {
    // two compiles that run to their 1.5 s limit, so they leave the fast lane after its slice;
    // an ordinary schema sent after them answers first, not behind them
    const settled: string[] = [];
    const costly = [1, 2].map((i) =>
      compileConstraintOffThread(boundedStrings(5000 + i), { maxGrammarSize: 1e9, timeoutMs: 1_500 }).then(
        () => settled.push(`costly ${i} compiled`),
        (e: unknown) => settled.push(`costly ${i}: ${(e as WenxinError).code}`),
      ),
    );
    await new Promise((r) => setTimeout(r, 100));
    const ordinary = await compileConstraintOffThread({
      type: "json_schema",
      schema: { type: "object", properties: { name: { type: "string" }, age: { type: "integer" } } },
    });
    settled.push("ordinary compiled");
    expect(ordinary.rules).toBeInstanceOf(Int32Array);
    await Promise.all(costly);
    expect(settled[0]).toBe("ordinary compiled");
    expect(settled.slice(1).sort()).toEqual([
      "costly 1: ERR_WENXIN_INVALID_ARGUMENT",
      "costly 2: ERR_WENXIN_INVALID_ARGUMENT",
    ]);
  });
});
