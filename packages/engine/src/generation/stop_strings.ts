/**
 * Finds stop strings in streamed text. Each stop string runs its own Knuth-Morris-Pratt automaton
 * over the text as it arrives, so every character is looked at once per stop string (linear over
 * the whole output, however long it gets), and only the longest tail that could still become a stop
 * string is held back: a caller never sees part of a stop string it would have to retract.
 */
import { WenxinError } from "../errors.js";

/** How many stop strings a request may have, and how long each may be (UTF-16 code units). */
export const STOP_STRING_LIMITS = { maxCount: 16, maxLength: 1024 } as const;

interface StopAutomaton {
  text: string;
  /** fail[i]: the longest proper prefix of text[0..i] that is also its suffix. */
  fail: Int32Array;
  /** Characters of `text` matched by the end of the output so far. */
  state: number;
}

function failureTable(s: string): Int32Array {
  const fail = new Int32Array(s.length);
  for (let i = 1, k = 0; i < s.length; i++) {
    while (k > 0 && s.charCodeAt(i) !== s.charCodeAt(k)) k = fail[k - 1]!;
    if (s.charCodeAt(i) === s.charCodeAt(k)) k++;
    fail[i] = k;
  }
  return fail;
}

/** Rejects stop strings past STOP_STRING_LIMITS (empty ones are ignored, as before). */
export function checkStopStrings(stops: readonly string[], subject = "stop"): void {
  const { maxCount, maxLength } = STOP_STRING_LIMITS;
  if (stops.length > maxCount)
    throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", `${subject}: at most ${maxCount} stop strings`, {
      subject,
      expected: `<= ${maxCount}`,
      actual: stops.length,
    });
  const long = stops.findIndex((s) => s.length > maxLength);
  if (long >= 0)
    throw new WenxinError(
      "ERR_WENXIN_INVALID_ARGUMENT",
      `${subject}[${long}] is ${stops[long]!.length} characters long; at most ${maxLength}`,
      { subject: `${subject}[${long}]`, expected: `<= ${maxLength}`, actual: stops[long]!.length },
    );
}

export class StopStringMatcher {
  private readonly automata: StopAutomaton[];
  /** Text received but not released: the tail that may still be the start of a stop string. */
  private held = "";
  private found = false;

  constructor(stops: readonly string[]) {
    checkStopStrings(stops);
    this.automata = stops.filter((s) => s.length > 0).map((text) => ({ text, fail: failureTable(text), state: 0 }));
  }

  get active(): boolean {
    return this.automata.length > 0;
  }

  /** True once a stop string was seen; later pushes release nothing. */
  get stopped(): boolean {
    return this.found;
  }

  /**
   * Reads more text; returns what may be shown now: everything before the first stop string once one
   * is complete, otherwise all but the tail that could still turn into one.
   */
  push(text: string): string {
    if (this.found || text.length === 0) return "";
    if (!this.active) return text;
    const window = this.held + text;
    let cut = -1;
    for (const a of this.automata) {
      let state = a.state;
      for (let i = this.held.length; i < window.length; i++) {
        const c = window.charCodeAt(i);
        while (state > 0 && a.text.charCodeAt(state) !== c) state = a.fail[state - 1]!;
        if (a.text.charCodeAt(state) === c) state++;
        if (state === a.text.length) {
          // The first occurrence of this stop string; the earliest start over all of them wins.
          const start = i + 1 - a.text.length;
          if (cut < 0 || start < cut) cut = start;
          break;
        }
      }
      a.state = state;
    }
    if (cut >= 0) {
      this.found = true;
      this.held = "";
      return window.slice(0, cut);
    }
    // Each automaton's state is the longest tail of the output that starts its stop string, and
    // that tail lies within `window` (the held part was the longest such tail before this push).
    let keep = 0;
    for (const a of this.automata) keep = Math.max(keep, a.state);
    this.held = window.slice(window.length - keep);
    return window.slice(0, window.length - keep);
  }

  /** The output ended without a stop string: releases the held tail. */
  flush(): string {
    const rest = this.held;
    this.held = "";
    for (const a of this.automata) a.state = 0;
    return rest;
  }
}
