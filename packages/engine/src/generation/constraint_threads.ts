/**
 * Compiling constraints off the event loop: a client's JSON schema may take up to the compile time
 * limit, and on the event loop that would stall every other request, `/health` and signal
 * handling. Jobs run on a small pool of worker threads (`constraint_worker.ts`, through
 * `JobThreads`), first come first served. The threads run at the lowest priority (nice 19 on
 * Linux), so that a costly schema takes CPU time the engine's threads and the event loop leave
 * over rather than theirs; the time limit therefore counts the compiling thread's own CPU time
 * (`CompileBudget`), not the time it waited for a CPU. A worker that overruns its job's limit
 * (the compiler's own clock checks missed it), or whose job's signal aborts, is terminated and
 * replaced.
 */
import { availableParallelism } from "node:os";

import { isWenxinErrorCode, WenxinError } from "../errors.js";
import { JobThreads } from "../worker/job_threads.js";
import { constraintSourceName, type CompiledConstraint, type Constraint } from "./constraint.js";
import type { CompileJob, CompileValue } from "./constraint_worker.js";
import { CONSTRAINT_LIMITS, type ConstraintLimits } from "./grammar/compile_budget.js";
import { constraintError } from "./grammar/grammar_ast.js";

/**
 * Workers at most (each compiles one constraint at a time): half the cores, at most 2, so that
 * costly schemas never take every core from the engine.
 */
const MAX_WORKERS = Math.max(1, Math.min(2, Math.floor(availableParallelism() / 2)));
/** The compile threads' nice value: the lowest priority. */
export const COMPILE_NICE = 19;
/** How much CPU time past its limit a job may run before its worker is terminated. */
const GRACE_MS = 1_000;
/**
 * The wall-clock backstop, as a multiple of the CPU time limit: a thread at nice 19 on a busy
 * machine runs a small share of the time, but not never.
 */
const WALL_FACTOR = 15;

/**
 * The worker script: next to this module once built; run from source (the tests' transform), the
 * built copy, since a worker thread loads plain JavaScript.
 */
function workerUrl(): URL {
  return import.meta.url.endsWith(".ts")
    ? new URL("../../dist/generation/constraint_worker.js", import.meta.url)
    : new URL("./constraint_worker.js", import.meta.url);
}

let threads: JobThreads<CompiledConstraint> | undefined;

/**
 * Compiles a constraint (already validated against `constraintSchema`) on a worker thread within
 * `limits`; rejects with the same typed errors as `compileConstraint`, and with
 * ERR_WENXIN_ABORTED once `signal` aborts (a running compile's worker is terminated: nothing of it
 * keeps the process alive).
 */
export function compileConstraintOffThread(
  constraint: Constraint,
  limits: ConstraintLimits = { ...CONSTRAINT_LIMITS },
  signal?: AbortSignal,
): Promise<CompiledConstraint> {
  threads ??= new JobThreads<CompiledConstraint>({
    name: "the constraint compiler thread",
    module: workerUrl(),
    threads: MAX_WORKERS,
    nice: COMPILE_NICE,
    result: (v) => v as CompileValue,
    failed: (f) =>
      new WenxinError(
        f.code !== undefined && isWenxinErrorCode(f.code) ? f.code : "ERR_WENXIN_INTERNAL",
        f.message,
        f.subject !== undefined ? { subject: f.subject } : {},
      ),
    lost: (cause) => (cause instanceof WenxinError ? cause : new WenxinError("ERR_WENXIN_INTERNAL", String(cause))),
  });
  const what = constraintSourceName(constraint);
  const job: CompileJob = { constraint, limits };
  return threads.run(job, {
    signal,
    aborted: () => new WenxinError("ERR_WENXIN_ABORTED", `compiling ${what} was aborted by its signal`),
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
}
