/**
 * The worker module that compiles constraints for `compileConstraintOffThread` (run by
 * `JobThreads`): one job at a time, each within the limits it is sent with. Errors go back as
 * their code, message and subject. The arrays are copied back, not moved: the worker's cache of
 * recent results keeps them.
 */
import { compileConstraint, type CompiledConstraint, type Constraint } from "./constraint.js";
import { isCompileTimeout, type ConstraintLimits } from "./grammar/compile_budget.js";

export interface CompileJob {
  constraint: Constraint;
  limits: ConstraintLimits;
  /**
   * On the fast lane: the CPU time (ms) the job may take there; a compile that needs more answers
   * `{ slow: true }` (to be compiled again on the low-priority lane) rather than failing.
   */
  fastMs?: number;
}

export type CompileValue = CompiledConstraint | { slow: true };

export function handle(job: CompileJob): CompileValue {
  let c: CompiledConstraint;
  if (job.fastMs === undefined) c = compileConstraint(job.constraint, job.limits);
  else
    try {
      c = compileConstraint(job.constraint, { ...job.limits, timeoutMs: Math.min(job.fastMs, job.limits.timeoutMs) });
    } catch (err) {
      if (isCompileTimeout(err) && job.fastMs < job.limits.timeoutMs) return { slow: true };
      throw err;
    }
  return { rules: c.rules, sets: c.sets, warnings: c.warnings };
}
