/**
 * Compiling constraints off the event loop: a client's JSON schema may take up to the compile time
 * limit, and on the event loop that would stall every other request, `/health` and signal
 * handling. Jobs run on a small pool of worker threads (`constraint_worker.ts`), first come first
 * served; a worker that overruns its job's time limit (the compiler's own clock checks missed it),
 * or whose job's signal aborts, is terminated and replaced.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

import { isWenxinErrorCode, WenxinError } from "../errors.js";
import { constraintSourceName, type CompiledConstraint, type Constraint } from "./constraint.js";
import type { CompileJob, CompileReply } from "./constraint_worker.js";
import { CONSTRAINT_LIMITS, type ConstraintLimits } from "./grammar/compile_budget.js";
import { constraintError } from "./grammar/grammar_ast.js";

/**
 * Workers at most (each compiles one constraint at a time): half the cores, at most 2, so that
 * costly schemas never take every core from the engine.
 */
const MAX_WORKERS = Math.max(1, Math.min(2, Math.floor(availableParallelism() / 2)));
/** How long past its time limit a job may run before its worker is terminated. */
const GRACE_MS = 1_000;

interface Pending {
  job: CompileJob;
  what: string;
  resolve(c: CompiledConstraint): void;
  reject(err: unknown): void;
}

/**
 * The worker script: next to this module once built; run from source (the tests' transform), the
 * built copy, since a worker thread loads plain JavaScript.
 */
function workerUrl(): URL {
  return import.meta.url.endsWith(".ts")
    ? new URL("../../dist/generation/constraint_worker.js", import.meta.url)
    : new URL("./constraint_worker.js", import.meta.url);
}

class CompilerThread {
  private readonly worker = new Worker(workerUrl());
  private current: { pending: Pending; timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly onIdle: (t: CompilerThread) => void,
    private readonly onGone: (t: CompilerThread) => void,
  ) {
    this.worker.unref();
    this.worker.on("message", (reply: CompileReply) => this.finish(reply));
    this.worker.on("error", (err) => this.crash(err));
    this.worker.on("exit", () => this.crash(new Error("the constraint compiler thread exited")));
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  run(pending: Pending): void {
    const timer = setTimeout(() => {
      this.crash(
        constraintError(
          pending.what,
          "as a whole",
          `compiling took longer than the limit of ${pending.job.limits.timeoutMs} ms; simplify the constraint`,
        ),
      );
    }, pending.job.limits.timeoutMs + GRACE_MS);
    timer.unref();
    this.current = { pending, timer };
    this.worker.ref();
    this.worker.postMessage(pending.job);
  }

  private finish(reply: CompileReply): void {
    const cur = this.current;
    if (!cur || cur.pending.job.id !== reply.id) return;
    clearTimeout(cur.timer);
    this.current = undefined;
    this.worker.unref();
    if (reply.ok) cur.pending.resolve({ rules: reply.rules, sets: reply.sets, warnings: reply.warnings });
    else {
      const code = isWenxinErrorCode(reply.code) ? reply.code : "ERR_WENXIN_INTERNAL";
      cur.pending.reject(new WenxinError(code, reply.message, reply.subject ? { subject: reply.subject } : {}));
    }
    this.onIdle(this);
  }

  /** Stops the job `pending` if this thread runs it (the worker is terminated); false otherwise. */
  cancel(pending: Pending, err: unknown): boolean {
    if (this.current?.pending !== pending) return false;
    this.crash(err);
    return true;
  }

  /** The worker is lost (timed out, crashed, exited or cancelled): its job fails with `err`. */
  private crash(err: unknown): void {
    const cur = this.current;
    this.current = undefined;
    this.worker.removeAllListeners();
    void this.worker.terminate();
    this.onGone(this);
    if (cur) {
      clearTimeout(cur.timer);
      cur.pending.reject(err instanceof WenxinError ? err : new WenxinError("ERR_WENXIN_INTERNAL", String(err)));
    }
  }
}

class CompilerPool {
  private readonly threads = new Set<CompilerThread>();
  private readonly queue: Pending[] = [];
  private nextId = 1;

  compile(
    constraint: Constraint,
    limits: ConstraintLimits,
    what: string,
    signal?: AbortSignal,
  ): Promise<CompiledConstraint> {
    const aborted = () => new WenxinError("ERR_WENXIN_ABORTED", `compiling ${what} was aborted by its signal`);
    if (signal?.aborted) return Promise.reject(aborted());
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const queued = this.queue.indexOf(pending);
        if (queued >= 0) {
          this.queue.splice(queued, 1);
          reject(aborted());
        } else for (const t of this.threads) if (t.cancel(pending, aborted())) break;
      };
      const settle =
        <T>(fn: (v: T) => void) =>
        (v: T) => {
          signal?.removeEventListener("abort", onAbort);
          fn(v);
        };
      const pending: Pending = {
        job: { id: this.nextId++, constraint, limits },
        what,
        resolve: settle(resolve),
        reject: settle(reject),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.push(pending);
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let idle = [...this.threads].find((t) => !t.busy);
      if (!idle && this.threads.size < MAX_WORKERS) {
        idle = new CompilerThread(
          () => this.dispatch(),
          (t) => {
            this.threads.delete(t);
            queueMicrotask(() => this.dispatch());
          },
        );
        this.threads.add(idle);
      }
      if (!idle) return;
      idle.run(this.queue.shift()!);
    }
  }
}

let pool: CompilerPool | undefined;

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
  pool ??= new CompilerPool();
  return pool.compile(constraint, limits, constraintSourceName(constraint), signal);
}
