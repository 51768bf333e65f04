/**
 * Compiling constraints off the event loop: a client's JSON schema may take up to the compile time
 * limit, and on the event loop that would stall every other request, `/health` and signal
 * handling. Jobs run on worker threads (`constraint_worker.ts`, through `JobThreads`) in two
 * lanes, each first come first served. Every constraint starts on the fast lane (one thread at
 * the process's priority), which compiles it within `FAST_COMPILE_MS` of CPU time; one that needs
 * more is compiled again from the start on the slow lane (half the cores, at most 2, at the lowest
 * priority: nice 19, in child processes, whose threads share no lock with the event loop, see
 * JobThreads), so that a costly schema takes CPU time the engine's threads and the
 * event loop leave over, and an ordinary schema never waits behind costly ones for more than a few
 * fast-lane slices. The time limit counts the compiling thread's own CPU time (`CompileBudget`),
 * not the time it waited for a CPU. A worker that overruns its job's limit (the compiler's own
 * clock checks missed it), or whose job's signal aborts, is terminated and replaced.
 */
import { availableParallelism } from "node:os";

import { WenxinError } from "../errors.js";
import { JobThreads, wenxinErrorOf } from "../worker/job_threads.js";
import { lowPriorityNice } from "../worker/low_priority.js";
import { constraintSourceName, type CompiledConstraint, type Constraint } from "./constraint.js";
import type { CompileJob, CompileValue } from "./constraint_worker.js";
import { CONSTRAINT_LIMITS, type ConstraintLimits } from "./grammar/compile_budget.js";
import { constraintError } from "./grammar/grammar_ast.js";

/**
 * Slow-lane workers at most (each compiles one constraint at a time): half the cores, at most 2,
 * so that costly schemas never take every core from the engine.
 */
const SLOW_WORKERS = Math.max(1, Math.min(2, Math.floor(availableParallelism() / 2)));
/** CPU time (ms) a constraint may take on the fast lane before it moves to the slow one. */
export const FAST_COMPILE_MS = 50;
/** How much CPU time past its limit a job may run before its worker is terminated. */
const GRACE_MS = 1_000;
/**
 * The wall-clock backstop, as a multiple of the CPU time limit: a worker at nice 19 on a busy
 * machine runs a small share of the time, but not never.
 */
const WALL_FACTOR = 15;

/** A fast-lane job that overran its slice by far (the compiler's clock checks missed it). */
class FastLaneOverrun extends Error {}

/**
 * The worker script: next to this module once built; run from source (the tests' transform), the
 * built copy, since a worker thread loads plain JavaScript.
 */
function workerUrl(): URL {
  return import.meta.url.endsWith(".ts")
    ? new URL("../../dist/generation/constraint_worker.js", import.meta.url)
    : new URL("./constraint_worker.js", import.meta.url);
}

let lanes: { fast: JobThreads<CompileValue>; slow: JobThreads<CompileValue> } | undefined;

function constraintLanes(): { fast: JobThreads<CompileValue>; slow: JobThreads<CompileValue> } {
  // The slow lane at the lowest priority (nice 19 unless a test chose otherwise: worker/low_priority.ts).
  lanes ??= { fast: lane(0, 1), slow: lane(lowPriorityNice(), SLOW_WORKERS) };
  return lanes;
}

/**
 * Starts both lanes' workers now (a server does when its model is loaded), rather than with the
 * first constraint: starting a worker thread costs its lane's first client tens of milliseconds of
 * the process's CPU, and the event loop's, at a time when other requests are being served.
 */
export function startConstraintThreads(): void {
  const { fast, slow } = constraintLanes();
  fast.warm();
  slow.warm();
}

/** The workers each lane has started (idle or busy). */
export function constraintThreadsStarted(): { fast: number; slow: number } {
  return { fast: lanes?.fast.started ?? 0, slow: lanes?.slow.started ?? 0 };
}

function lane(nice: number, threads: number): JobThreads<CompileValue> {
  return new JobThreads<CompileValue>({
    name: "the constraint compiler thread",
    module: workerUrl(),
    threads,
    nice,
    failed: (f) => wenxinErrorOf(f, "ERR_WENXIN_INTERNAL"),
    lost: (cause) =>
      cause instanceof WenxinError || cause instanceof FastLaneOverrun
        ? cause
        : new WenxinError("ERR_WENXIN_INTERNAL", String(cause)),
  });
}

/**
 * Compiles a constraint (already validated against `constraintSchema`) on a worker thread within
 * `limits`; rejects with the same typed errors as `compileConstraint`, and with
 * ERR_WENXIN_ABORTED once `signal` aborts (a running compile's worker is terminated: nothing of it
 * keeps the process alive).
 */
export async function compileConstraintOffThread(
  constraint: Constraint,
  limits: ConstraintLimits = { ...CONSTRAINT_LIMITS },
  signal?: AbortSignal,
): Promise<CompiledConstraint> {
  const lanes = constraintLanes();
  const what = constraintSourceName(constraint);
  const aborted = () => new WenxinError("ERR_WENXIN_ABORTED", `compiling ${what} was aborted by its signal`);
  if (limits.timeoutMs > FAST_COMPILE_MS) {
    const fast = await lanes.fast
      .run({ constraint, limits, fastMs: FAST_COMPILE_MS } satisfies CompileJob, {
        signal,
        aborted,
        limit: {
          cpuMs: FAST_COMPILE_MS * 4,
          wallMs: FAST_COMPILE_MS * 4 * WALL_FACTOR,
          error: () => new FastLaneOverrun(),
        },
      })
      .catch((err: unknown) => {
        if (err instanceof FastLaneOverrun) return { slow: true } as const;
        throw err;
      });
    if (!("slow" in fast)) return fast;
  }
  const compiled = await lanes.slow.run({ constraint, limits } satisfies CompileJob, {
    signal,
    aborted,
    limit: {
      cpuMs: limits.timeoutMs + GRACE_MS,
      wallMs: limits.timeoutMs * WALL_FACTOR + GRACE_MS,
      error: () =>
        constraintError(
          what,
          "as a whole",
          `compiling took longer than the limit of ${limits.timeoutMs} ms; simplify the constraint`,
        ),
    },
  });
  if ("slow" in compiled) throw new WenxinError("ERR_WENXIN_INTERNAL", `compiling ${what}: no answer`);
  return compiled;
}
