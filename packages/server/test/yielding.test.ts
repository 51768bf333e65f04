// forEachYielding: a long loop on the event loop runs in slices, with a turn of the event loop
// between them (checked on a fake clock: which items ran before each turn), and stops early.
import { describe, expect, it } from "vitest";

import { forEachYielding } from "../src/yielding.js";

describe("forEachYielding", () => {
  it("lets the event loop turn once a slice has run for sliceMs, and only then", async () => {
    let clock = 0;
    const ran: number[] = [];
    const turns: number[][] = [];
    let probe: NodeJS.Immediate | undefined;
    const watch = () => {
      // an immediate queued by someone else runs only when the loop lets the event loop turn
      probe = setImmediate(() => {
        turns.push([...ran]);
        watch();
      });
    };
    watch();
    await forEachYielding(
      Array.from({ length: 10 }, (_, i) => i),
      (i) => {
        ran.push(i);
        clock += 2; // each item "takes" 2 ms
      },
      { sliceMs: 5, now: () => clock },
    );
    clearImmediate(probe);
    // 5 ms slices of 2 ms items: three items per slice, a turn after items 2, 5 and 8, none after the last
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(turns.map((t) => t[t.length - 1])).toEqual([2, 5, 8]);
  });

  it("runs a loop that fits one slice without a turn, and stops when fn returns false", async () => {
    let turned = false;
    const probe = setImmediate(() => (turned = true));
    const seen: number[] = [];
    await forEachYielding(
      [1, 2, 3, 4],
      (x) => {
        seen.push(x);
        return x < 2;
      },
      { now: () => 0 },
    );
    expect(seen).toEqual([1, 2]);
    expect(turned).toBe(false);
    clearImmediate(probe);
  });
});
