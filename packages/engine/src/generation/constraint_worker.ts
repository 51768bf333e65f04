/**
 * The worker thread that compiles constraints for `compileConstraintOffThread`: one job at a time,
 * each within the limits it is sent with. Errors go back as their code, message and details.
 */
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
