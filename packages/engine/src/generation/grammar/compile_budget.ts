/**
 * The limits on compiling one constraint: how big its byte grammar may grow and how long compiling
 * may take. A constraint is client input (a server passes a request's JSON schema through), and a
 * schema of a few hundred kilobytes can ask for millions of grammar elements; past either limit
 * compiling stops with an error that names the part of the source being compiled.
 */
import { ThreadClock } from "../../worker/thread_cpu.js";
import { constraintError } from "./grammar_ast.js";

export interface ConstraintLimits {
  /** Most elements (rule references and byte sets, plus one per rule and per alternative) the byte grammar may hold. */
  maxGrammarSize: number;
  /**
   * Longest time compiling may take, in ms of the compiling thread's own CPU time where the
   * platform reports it (Linux), else of wall-clock time: a thread kept waiting for a CPU (by other
   * work, or its own low priority) is not failed for waiting.
   */
  timeoutMs: number;
}

export const CONSTRAINT_LIMITS: Readonly<ConstraintLimits> = Object.freeze({
  maxGrammarSize: 1_000_000,
  timeoutMs: 2_000,
});

/** How many `tick`s pass between two looks at the clock. */
const TICKS_PER_CHECK = 256;

/** The errors `checkTime` threw: a compile that ran out of time, rather than one refused for its size. */
const timeouts = new WeakSet<object>();

/** Whether `err` is a compile stopped at its time limit. */
export function isCompileTimeout(err: unknown): boolean {
  return typeof err === "object" && err !== null && timeouts.has(err);
}

/** One compilation's running account against its limits. */
export class CompileBudget {
  private readonly clock = new ThreadClock();
  private readonly deadline: number;
  private ticks = 0;
  private size = 0;

  constructor(
    /** The source's name in errors (e.g. "constraint.schema"). */
    private readonly what: string,
    readonly limits: Readonly<ConstraintLimits> = CONSTRAINT_LIMITS,
  ) {
    this.deadline = this.clock.now() + limits.timeoutMs;
  }

  /** A unit of work at `where` (e.g. "at #/properties/a"): fails once the time is up. */
  tick(where: string): void {
    if (++this.ticks % TICKS_PER_CHECK !== 0) return;
    this.checkTime(where);
  }

  checkTime(where: string): void {
    if (this.clock.now() <= this.deadline) return;
    const err = constraintError(
      this.what,
      where,
      `compiling took longer than the limit of ${this.limits.timeoutMs} ms; simplify this part of the constraint`,
    );
    timeouts.add(err);
    throw err;
  }

  /** `n` more grammar elements made for `where`: fails past the size limit. */
  grow(n: number, where: string): void {
    this.size += n;
    if (this.size > this.limits.maxGrammarSize)
      throw constraintError(
        this.what,
        where,
        `the grammar grows past the limit of ${this.limits.maxGrammarSize} elements here; lower the repetition bounds or the number of alternatives`,
      );
    this.tick(where);
  }
}
