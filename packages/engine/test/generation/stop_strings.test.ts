// StopStringMatcher on streamed text: the same cut as a search of the whole text, whatever the
// chunking, never releasing part of a stop string, in time linear in the output.
import { describe, expect, it } from "vitest";

import { WenxinError } from "../../src/errors.js";
import { STOP_STRING_LIMITS, StopStringMatcher } from "../../src/generation/stop_strings.js";
import { rng } from "./schema_generator.js";

/** What a search of the whole text gives: the text before the earliest complete stop string. */
function reference(text: string, stops: string[]): { text: string; stopped: boolean } {
  let best = -1;
  for (const s of stops) {
    const i = s.length > 0 ? text.indexOf(s) : -1;
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best < 0 ? { text, stopped: false } : { text: text.slice(0, best), stopped: true };
}

function stream(chunks: string[], stops: string[]): { text: string; stopped: boolean; released: string[] } {
  const m = new StopStringMatcher(stops);
  const released: string[] = [];
  for (const c of chunks) {
    released.push(m.push(c));
    if (m.stopped) break;
  }
  if (!m.stopped) released.push(m.flush());
  return { text: released.join(""), stopped: m.stopped, released };
}

describe("StopStringMatcher", () => {
  it("cuts where a search of the whole text does, for any chunking (random texts and stops)", () => {
    const r = rng(5);
    const letters = "abab c\n";
    const word = (n: number) => Array.from({ length: n }, () => letters[Math.floor(r() * letters.length)]).join("");
    for (let trial = 0; trial < 400; trial++) {
      const text = word(5 + Math.floor(r() * 60));
      const stops = Array.from({ length: 1 + Math.floor(r() * 3) }, () => word(1 + Math.floor(r() * 5)));
      const chunks: string[] = [];
      for (let i = 0; i < text.length;) {
        const n = 1 + Math.floor(r() * 4);
        chunks.push(text.slice(i, i + n));
        i += n;
      }
      const got = stream(chunks, stops);
      const want = reference(text, stops);
      expect(got.text, JSON.stringify({ text, stops, chunks })).toBe(want.text);
      expect(got.stopped).toBe(want.stopped);
    }
  });

  it("never releases the start of a stop string it later cuts", () => {
    const { released } = stream(["Hello wor", "ld and more"], ["world"]);
    expect(released).toEqual(["Hello ", ""]);
  });

  it("releases a held tail that did not become a stop string", () => {
    const m = new StopStringMatcher(["</end>"]);
    expect(m.push("a </e")).toBe("a ");
    expect(m.push("x")).toBe("</ex");
    expect(m.push("</en")).toBe("");
    expect(m.flush()).toBe("</en");
  });

  it("does work linear in the output, not in output × stop length", () => {
    // A stop string that almost matches everywhere: a rescan of the window per character would be
    // quadratic in its length; the automaton reads each character once (amortised).
    const stop = `${"a".repeat(STOP_STRING_LIMITS.maxLength - 1)}b`;
    const m = new StopStringMatcher([stop]);
    const started = performance.now();
    let out = 0;
    for (let i = 0; i < 200_000; i++) out += m.push("a").length;
    const ms = performance.now() - started;
    expect(out).toBe(200_000 - (STOP_STRING_LIMITS.maxLength - 1));
    expect(ms).toBeLessThan(1000); // measured ≈ 40 ms; a rescanning matcher takes minutes
  });

  it("refuses more or longer stop strings than its limits", () => {
    expect(() => new StopStringMatcher(Array.from({ length: STOP_STRING_LIMITS.maxCount + 1 }, () => "x"))).toThrow(
      WenxinError,
    );
    expect(() => new StopStringMatcher(["x".repeat(STOP_STRING_LIMITS.maxLength + 1)])).toThrow(/at most 1024/);
    expect(new StopStringMatcher(["", "x"]).active).toBe(true);
    expect(new StopStringMatcher([""]).active).toBe(false);
  });
});
