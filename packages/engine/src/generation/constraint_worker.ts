/**
 * The worker module that compiles constraints for `compileConstraintOffThread` (run by
 * `JobThreads`): one job at a time, each within the limits it is sent with. Errors go back as
 * their code, message and subject. The arrays are copied back, not moved: the worker's cache of
 * recent results keeps them.
 */
import { compileConstraint, type CompiledConstraint, type Constraint } from "./constraint.js";
import type { ConstraintLimits } from "./grammar/compile_budget.js";

export interface CompileJob {
  constraint: Constraint;
  limits: ConstraintLimits;
}

export type CompileValue = CompiledConstraint;

export function handle(job: CompileJob): CompileValue {
  const c = compileConstraint(job.constraint, job.limits);
  return { rules: c.rules, sets: c.sets, warnings: c.warnings };
}
