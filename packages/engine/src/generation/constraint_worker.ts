/**
 * The worker thread that compiles constraints for `compileConstraintOffThread`: one job at a time,
 * each within the limits it is sent with. Errors go back as their code, message and details.
 *
 * A client's schema must not take CPU from serving: on Linux, where a thread's id names that thread
 * alone for setpriority, the thread lowers its own priority to the lowest (nice 19) when it starts,
 * so it compiles on what the engine and the event loop leave (a compile on a busy machine then
 * takes longer, within the same time limit).
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort } from "node:worker_threads";

import { WenxinError } from "../errors.js";
import { compileConstraint, type Constraint } from "./constraint.js";
import type { ConstraintLimits } from "./grammar/compile_budget.js";

export interface CompileJob {
  id: number;
  constraint: Constraint;
  limits: ConstraintLimits;
}

export type CompileReply =
  | { id: number; ok: true; rules: Int32Array; sets: Uint32Array; warnings: string[] }
  | { id: number; ok: false; code: string; message: string; subject?: string };

/** The compiler thread's niceness on Linux. */
export const COMPILER_NICE = 19;

function lowerThreadPriority(): void {
  try {
    const tid = Number(/\/task\/(\d+)$/.exec(readlinkSync("/proc/thread-self"))?.[1]);
    if (tid > 0) setPriority(tid, COMPILER_NICE);
  } catch {
    // not Linux (no /proc/thread-self): the thread keeps the process's priority
  }
}

if (parentPort) lowerThreadPriority();

parentPort?.on("message", (job: CompileJob) => {
  let reply: CompileReply;
  try {
    const c = compileConstraint(job.constraint, job.limits);
    reply = { id: job.id, ok: true, rules: c.rules, sets: c.sets, warnings: c.warnings };
  } catch (err) {
    reply =
      err instanceof WenxinError
        ? { id: job.id, ok: false, code: err.code, message: err.message, subject: err.details.subject }
        : { id: job.id, ok: false, code: "ERR_WENXIN_INTERNAL", message: String((err as Error)?.message ?? err) };
  }
  parentPort!.postMessage(reply);
});
