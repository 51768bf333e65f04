/**
 * A thread's own CPU time, for limits that must not count the time a thread waited for a CPU: a
 * deprioritized worker (or any thread on a loaded machine) can wait far longer than it runs, and a
 * wall-clock limit would fail it for waiting. Linux reports each thread's time on a CPU in
 * nanoseconds (`/proc/<pid>/task/<tid>/schedstat`, first field); elsewhere these functions answer
 * undefined and callers fall back to wall-clock time.
 */
import { readFileSync, readlinkSync } from "node:fs";

/** Milliseconds the thread `tid` of this process has spent on a CPU; undefined where not known. */
export function threadCpuMs(tid: number): number | undefined {
  return readSchedstat(`/proc/self/task/${tid}/schedstat`);
}

/** Milliseconds the thread `tid` of the process `pid` has spent on a CPU; undefined where not known. */
export function processThreadCpuMs(pid: number, tid: number): number | undefined {
  return readSchedstat(`/proc/${pid}/task/${tid}/schedstat`);
}

/** Milliseconds the calling thread has spent on a CPU; undefined where not known. */
export function ownCpuMs(): number | undefined {
  return readSchedstat("/proc/thread-self/schedstat");
}

/** The calling thread's id (Linux); undefined elsewhere. */
export function ownThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

function readSchedstat(file: string): number | undefined {
  try {
    const ns = Number(readFileSync(file, "latin1").split(" ", 1)[0]);
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A clock for a running count against a time limit: the calling thread's CPU time where the
 * platform reports it, wall-clock time elsewhere. Reading the CPU time costs a file read, so
 * `now()` reads it at most once per `everyMs` of wall-clock time and otherwise answers the last
 * reading (a limit is then overrun by up to `everyMs` of CPU time).
 */
export class ThreadClock {
  /** Whether `now()` counts this thread's CPU time (else wall-clock time). */
  readonly cpu: boolean;
  private lastWall = -Infinity;
  private last = 0;

  constructor(private readonly everyMs = 10) {
    this.cpu = ownCpuMs() !== undefined;
  }

  now(): number {
    if (!this.cpu) return performance.now();
    const wall = performance.now();
    if (wall - this.lastWall >= this.everyMs) {
      this.lastWall = wall;
      this.last = ownCpuMs() ?? this.last;
    }
    return this.last;
  }
}
