/**
 * Long synchronous loops on the event loop (tokenizing an embeddings request's inputs up to its
 * token limit takes tens of milliseconds, hundreds on a loaded machine) hold every other request
 * and `/health` meanwhile. `forEachYielding` runs such a loop in slices of `sliceMs` and lets the
 * event loop turn between them, so other requests interleave with it; the work stays the same.
 */
import { setImmediate as turn } from "node:timers/promises";

/** How long one slice may hold the event loop, in ms. */
export const YIELD_SLICE_MS = 5;

/**
 * Calls `fn` on each item in order, letting the event loop turn once a slice has run for
 * `sliceMs` (measured with `now`). `fn` returning false stops the loop early.
 */
export async function forEachYielding<T>(
  items: readonly T[],
  fn: (item: T, index: number) => boolean | void,
  { sliceMs = YIELD_SLICE_MS, now = () => performance.now() }: { sliceMs?: number; now?: () => number } = {},
): Promise<void> {
  let sliceStart = now();
  for (let i = 0; i < items.length; i++) {
    if (fn(items[i]!, i) === false) return;
    if (i + 1 < items.length && now() - sliceStart >= sliceMs) {
      await turn();
      sliceStart = now();
    }
  }
}
