/**
 * Finds stop strings in streamed text. Text that could still turn into a stop string is held
 * back, so a caller never sees part of a stop string it will later have to retract.
 */
export class StopStringMatcher {
  private readonly stops: string[];

  constructor(stops: string[]) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  get active(): boolean {
    return this.stops.length > 0;
  }

  /** Index of the earliest complete stop string in `text`, or -1. */
  findStop(text: string): number {
    let best = -1;
    for (const s of this.stops) {
      const i = text.indexOf(s);
      if (i >= 0 && (best < 0 || i < best)) best = i;
    }
    return best;
  }

  /** How many characters at the end of `text` may be the start of a stop string. */
  heldBack(text: string): number {
    let held = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, text.length); n > held; n--) {
        if (text.endsWith(s.slice(0, n))) {
          held = n;
          break;
        }
      }
    }
    return held;
  }
}
