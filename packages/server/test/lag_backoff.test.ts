import { describe, expect, it } from "vitest";

import { LagBackoff } from "../src/lag_backoff.js";

describe("LagBackoff", () => {
  it("resumes at once after a first lag and after progress; doubles the wait after each trickle, up to the cap", () => {
    const b = new LagBackoff(1 << 20, 250, 4_000);
    expect(b.onLag(undefined)).toBe(0); // the first lag
    expect([b.onLag(10_000), b.onLag(0), b.onLag(64 << 10), b.onLag(1), b.onLag(1), b.onLag(1)]).toEqual([
      250, 500, 1_000, 2_000, 4_000, 4_000,
    ]);
    // a client that took a megabyte since it resumed is reading: no wait, and the count starts over
    expect(b.onLag(1 << 20)).toBe(0);
    expect(b.onLag(5)).toBe(250);
  });
});
