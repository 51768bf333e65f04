/**
 * The nice value of the lanes that run a client's costliest work: the bulk tokenizer worker
 * (tokenizer_thread.ts) and the slow constraint compiler lane (constraint_threads.ts). 19, the
 * lowest priority, so that such work takes only the CPU time the engine's threads and the event
 * loop leave over. A lane below the process's priority is a child process (worker/job_threads.ts);
 * every value from 1 up takes that path.
 *
 * Lanes read it when they are made (a tokenizer when it is loaded, the compiler lanes with the
 * first constraint compiled off the event loop). Tests of what those lanes compute (not of their
 * priority, which test/worker/job_threads.test.ts checks) set a value near the process's own, so
 * that a loaded test machine's busy processes at nice 0 do not starve them for minutes.
 */
import { WenxinError } from "../errors.js";

/** The default: the lowest priority. */
export const LOW_PRIORITY_NICE = 19;

let current = LOW_PRIORITY_NICE;

/** The nice value lanes made from now on run at. */
export function lowPriorityNice(): number {
  return current;
}

/** Sets the nice value of lanes made from now on: an integer from 1 to 19. */
export function setLowPriorityNice(nice: number): void {
  if (!Number.isInteger(nice) || nice < 1 || nice > 19)
    throw new WenxinError(
      "ERR_WENXIN_INVALID_ARGUMENT",
      `the low-priority nice value must be an integer from 1 to 19, got ${String(nice)}`,
    );
  current = nice;
}
