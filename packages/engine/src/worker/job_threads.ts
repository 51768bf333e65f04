/**
 * Jobs run off the event loop on worker threads: the one queue-to-a-worker mechanism behind
 * constraint compiling, long-text tokenizing and the server's large-body parsing.
 *
 * A `JobThreads` owns up to `threads` workers, each running one job at a time from a first-come-
 * first-served queue. Each job settles exactly once: with its worker's answer; with its `aborted`
 * error when its signal aborts (while queued it is dropped; while running its worker is terminated
 * and replaced, unless `stopRunningOnAbort` is off, when it runs to its end); with its limit's
 * error when its worker overruns `cpuLimitMs` of the worker thread's own CPU time or `wallLimitMs`
 * (the worker is terminated); or with `lost` when its worker crashes or exits. Idle workers are
 * unreferenced, so they never keep the process alive.
 *
 * A worker is a module (a file or `data:` URL) that exports `handle(job)`, returning the job's
 * value or throwing, and optionally `init(data)`, run once before the first job with the `data`
 * given here, and `transferOf(value)`, the ArrayBuffers to move rather than copy back. It runs
 * inside a small bootstrap that tells this side the id of the thread that runs the jobs, whose CPU
 * time the limits are measured in.
 *
 * Workers at the process's priority are worker threads. Workers at a lower one (`nice` > 0) are
 * child processes, every thread of which runs at that nice value (on Linux; elsewhere the process
 * is reniced), so that a client's costly work yields the CPUs to the engine's threads and the event
 * loop. They are not threads of this process because a low-priority thread here would hold locks
 * the event loop needs: every isolate of a process posts its background tasks (garbage collection,
 * compiling) to one task queue of Node's platform, under one mutex, and waking a platform thread
 * from there lets it preempt the poster while it still holds the mutex. At nice 19 on a machine
 * whose CPUs are busy the poster then waited 73-212 ms for a CPU, and the event loop, posting its
 * own tasks, waited with it (measured with the abuse benchmark: the server's main thread blocked on
 * a mutex laid out as that queue's, owned by the nice-19 tokenizer, body parser or compiler thread,
 * runnable and not running). A child process shares no such lock; its jobs and answers are copied
 * over its IPC channel instead of moved.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { setPriority } from "node:os";
import { Worker } from "node:worker_threads";

import { isWenxinErrorCode, WenxinError, type WenxinErrorCode } from "../errors.js";
import { processThreadCpuMs, threadCpuMs } from "./thread_cpu.js";

/** What a worker's `handle` threw, as sent back. */
export interface JobFailure {
  message: string;
  /** The error's `code` property, when it had one (a WenxinError's code, say). */
  code?: string;
  /** `details.subject` of a WenxinError. */
  subject?: string;
}

/**
 * The WenxinError a worker's failure stands for: its own code and subject when it threw a
 * WenxinError, else `fallback`.
 */
export function wenxinErrorOf(failure: JobFailure, fallback: WenxinErrorCode): WenxinError {
  return new WenxinError(
    isWenxinErrorCode(failure.code) ? failure.code : fallback,
    failure.message,
    failure.subject !== undefined ? { subject: failure.subject } : {},
  );
}

export interface JobThreadsOptions<Value> {
  /** What these threads are, in errors ("the tokenizer thread"). */
  name: string;
  /** The worker module: a file URL, or a `data:text/javascript,` URL of its source. */
  module: URL | string;
  /** The argument of the module's `init`, asked for once per worker started. */
  data?: () => unknown;
  /** Workers at most (default 1). */
  threads?: number;
  /**
   * The workers' nice value (0, the default: as the process's other threads). Above 0 the workers
   * are child processes at that nice value rather than threads (see the module comment).
   */
  nice?: number;
  /** The error a job fails with when its worker's `handle` threw. */
  failed(failure: JobFailure): Error;
  /** The error a job fails with when its worker is lost (it crashed or exited, or `close`). */
  lost(cause: unknown): Error;
  /** Turns the value a worker sent into the job's result (default: as sent). */
  result?: (value: unknown) => Value;
}

export interface JobOptions {
  /** Aborts the job: it fails with `aborted()`. */
  signal?: AbortSignal;
  /** The error an aborted job fails with. */
  aborted?: () => Error;
  /** Whether an abort stops a job that is running (its worker is terminated); default true. */
  stopRunningOnAbort?: boolean;
  /** ArrayBuffers of the job to move to the worker rather than copy. */
  transfer?: ArrayBuffer[];
  /**
   * Limits on the job once it runs, and the error past them. `cpuMs` counts the worker thread's
   * own CPU time where the platform reports it (Linux), else wall-clock time; `wallMs` is wall-
   * clock time, a backstop for a worker that is kept waiting for a CPU indefinitely.
   */
  limit?: { cpuMs: number; wallMs: number; error: () => Error };
}

/** The bootstrap every worker runs (CommonJS, evaluated): nice value, thread id, then the jobs. */
const BOOTSTRAP = `
const { parentPort, workerData } = require("node:worker_threads");
let tid;
try {
  tid = Number(require("node:fs").readlinkSync("/proc/thread-self").split("/").pop());
  if (workerData.nice) require("node:os").setPriority(tid, workerData.nice);
} catch {}
parentPort.postMessage({ tid });
const ready = import(workerData.module).then(async (m) => {
  if (m.init) await m.init(workerData.data);
  return m;
});
ready.catch(() => undefined);
parentPort.on("message", async ({ id, job }) => {
  try {
    const m = await ready;
    const value = await m.handle(job);
    parentPort.postMessage({ id, ok: true, value }, m.transferOf ? m.transferOf(value) : []);
  } catch (err) {
    const failure = { message: String(err && err.message !== undefined ? err.message : err) };
    if (err && typeof err.code === "string") failure.code = err.code;
    if (err && err.details && typeof err.details.subject === "string") failure.subject = err.details.subject;
    parentPort.postMessage({ id, ok: false, failure });
  }
});
`;

/**
 * The bootstrap of a worker process (CommonJS, `node -e`): its nice value on every thread, then
 * the same protocol as a worker thread's, over the IPC channel; it exits with its parent.
 */
const PROCESS_BOOTSTRAP = `
const { readdirSync } = require("node:fs");
const { setPriority } = require("node:os");
process.on("disconnect", () => process.exit(0));
process.on("uncaughtException", (err) => {
  const message = String(err && err.message !== undefined ? err.message : err);
  if (process.connected) process.send({ crashed: message }, () => process.exit(1));
  else process.exit(1);
});
let ready;
process.on("message", async (msg) => {
  if (msg.start) {
    const { module, data, nice } = msg.start;
    if (nice) {
      try {
        for (const tid of readdirSync("/proc/self/task")) setPriority(Number(tid), nice);
      } catch {
        try { setPriority(nice); } catch {}
      }
    }
    process.send({ tid: process.pid });
    ready = import(module).then(async (m) => {
      if (m.init) await m.init(data);
      return m;
    });
    ready.catch(() => undefined);
    return;
  }
  const { id, job } = msg;
  try {
    const m = await ready;
    const value = await m.handle(job);
    process.send({ id, ok: true, value });
  } catch (err) {
    const failure = { message: String(err && err.message !== undefined ? err.message : err) };
    if (err && typeof err.code === "string") failure.code = err.code;
    if (err && err.details && typeof err.details.subject === "string") failure.subject = err.details.subject;
    process.send({ id, ok: false, failure });
  }
});
`;

type Reply =
  { tid: number } | { id: number; ok: true; value: unknown } | { id: number; ok: false; failure: JobFailure };

/** A worker thread or a worker process, as JobThread uses it. */
interface Runner {
  post(message: unknown, transfer: ArrayBuffer[]): void;
  /** Milliseconds of CPU time the thread `tid` that runs the jobs has used; undefined where not known. */
  cpuMs(tid: number): number | undefined;
  ref(): void;
  unref(): void;
  stop(): void;
  /** Listens for replies, for a failure (error) and for the end (exit code); `off` removes them all. */
  listen(onReply: (r: Reply) => void, onError: (err: Error) => void, onExit: (code: number | null) => void): void;
  off(): void;
}

function threadRunner<Value>(options: JobThreadsOptions<Value>): Runner {
  const worker = new Worker(BOOTSTRAP, {
    eval: true,
    workerData: { module: String(options.module), data: options.data?.(), nice: options.nice ?? 0 },
  });
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    cpuMs: (tid) => threadCpuMs(tid),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    stop: () => void worker.terminate(),
    listen(onReply, onError, onExit) {
      worker.on("message", onReply);
      worker.on("error", onError);
      worker.on("exit", onExit);
    },
    off() {
      worker.removeAllListeners();
      worker.on("error", () => undefined);
    },
  };
}

function processRunner<Value>(options: JobThreadsOptions<Value>): Runner {
  const child: ChildProcess = spawn(process.execPath, ["-e", PROCESS_BOOTSTRAP], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    serialization: "advanced",
  });
  // A child at a lower priority from its first instruction: the threads Node starts before the
  // bootstrap runs are reniced by it, and on Linux those it starts later inherit its main thread's.
  try {
    if (child.pid !== undefined) setPriority(child.pid, options.nice ?? 0);
  } catch {
    // the bootstrap sets it too
  }
  const send = (message: unknown) => {
    if (child.connected) child.send(message as object, (err) => err && undefined);
  };
  send({ start: { module: String(options.module), data: options.data?.(), nice: options.nice ?? 0 } });
  return {
    post: (message) => send(message),
    cpuMs: (tid) => processThreadCpuMs(child.pid ?? tid, tid),
    ref: () => {
      child.ref();
      child.channel?.ref();
    },
    unref: () => {
      child.unref();
      child.channel?.unref();
    },
    stop: () => void child.kill("SIGKILL"),
    listen(onReply, onError, onExit) {
      child.on("message", (m: Reply | { crashed: string }) => {
        if ("crashed" in m) onError(new Error(m.crashed));
        else onReply(m);
      });
      child.on("error", onError);
      child.on("exit", (code) => onExit(code));
    },
    off() {
      child.removeAllListeners();
      child.on("error", () => undefined);
    },
  };
}

/** Whether workers at this nice value run as processes (below the process's priority: see the module comment). */
function runsAsProcess(nice: number | undefined): boolean {
  return (nice ?? 0) > 0;
}

interface Job<Value> {
  id: number;
  job: unknown;
  opts: JobOptions;
  settled: boolean;
  resolve(v: Value): void;
  reject(err: Error): void;
}

/** How often a running job with a limit has its worker's CPU time looked at. */
const LIMIT_CHECK_MS = 100;

/** One worker and the job it runs. */
class JobThread<Value> {
  private readonly worker: Runner;
  /** The worker's thread id, once it has said (Linux). */
  private tid: number | undefined;
  private current:
    { job: Job<Value>; startCpu: number | undefined; started: number; timer?: NodeJS.Timeout } | undefined;

  constructor(
    private readonly pool: JobThreads<Value>,
    options: JobThreadsOptions<Value>,
  ) {
    this.worker = runsAsProcess(options.nice) ? processRunner(options) : threadRunner(options);
    this.worker.listen(
      (reply) => this.onReply(reply),
      (err) => this.lose(options.lost(err)),
      (code) => this.lose(options.lost(new Error(`${options.name} exited (${code})`))),
    );
    // After the listeners: adding a "message" listener refs a worker again, and a worker started
    // ahead of its first job (warm()) would keep the process from exiting.
    this.worker.unref();
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  running(job: Job<Value>): boolean {
    return this.current?.job === job;
  }

  run(job: Job<Value>): void {
    this.current = { job, started: performance.now(), startCpu: this.cpuMs() };
    if (job.opts.limit) {
      const timer = setInterval(() => this.checkLimit(), Math.min(LIMIT_CHECK_MS, job.opts.limit.cpuMs));
      timer.unref();
      this.current.timer = timer;
    }
    this.worker.ref();
    this.worker.post({ id: job.id, job: job.job }, job.opts.transfer ?? []);
  }

  private cpuMs(): number | undefined {
    return this.tid === undefined ? undefined : this.worker.cpuMs(this.tid);
  }

  private checkLimit(): void {
    const cur = this.current;
    const limit = cur?.job.opts.limit;
    if (!cur || !limit) return;
    const wall = performance.now() - cur.started;
    const now = this.cpuMs();
    const cpu = now !== undefined && cur.startCpu !== undefined ? now - cur.startCpu : wall;
    if (cpu > limit.cpuMs || wall > limit.wallMs) this.lose(limit.error());
  }

  private onReply(reply: Reply): void {
    if (!("id" in reply)) {
      this.tid = reply.tid;
      if (this.current && this.current.startCpu === undefined) this.current.startCpu = this.cpuMs();
      return;
    }
    const cur = this.current;
    if (!cur || cur.job.id !== reply.id) return;
    this.stop();
    this.worker.unref();
    if (reply.ok) this.pool.settleWith(cur.job, reply.value);
    else this.pool.fail(cur.job, "failed", reply.failure);
    this.pool.dispatch();
  }

  private stop(): void {
    clearInterval(this.current?.timer);
    this.current = undefined;
  }

  /** The worker is lost (crashed, exited, over a limit, stopped): it goes, its job fails with `err`. */
  lose(err: Error): void {
    const cur = this.current;
    this.stop();
    this.worker.off();
    this.worker.stop();
    this.pool.gone(this);
    if (cur) this.pool.fail(cur.job, "error", err);
  }
}

export class JobThreads<Value> {
  private readonly threads = new Set<JobThread<Value>>();
  private readonly queue: Job<Value>[] = [];
  private nextId = 1;
  private readonly max: number;

  constructor(private readonly options: JobThreadsOptions<Value>) {
    this.max = Math.max(1, options.threads ?? 1);
  }

  /** Runs `job` on a worker; see the module comment for how it settles. */
  run(job: unknown, opts: JobOptions = {}): Promise<Value> {
    const aborted = opts.aborted ?? (() => new Error(`the job on ${this.options.name} was aborted`));
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(aborted());
    return new Promise<Value>((resolve, reject) => {
      const onAbort = () => {
        const queued = this.queue.indexOf(entry);
        if (queued >= 0) {
          this.queue.splice(queued, 1);
          this.fail(entry, "error", aborted());
          return;
        }
        if (opts.stopRunningOnAbort === false) return;
        for (const t of this.threads)
          if (t.running(entry)) {
            t.lose(aborted());
            return;
          }
      };
      const entry: Job<Value> = {
        id: this.nextId++,
        job,
        opts,
        settled: false,
        resolve,
        reject,
      };
      // settling removes the listener (see `finish`)
      if (signal) {
        signal.addEventListener("abort", onAbort, { once: true });
        entry.resolve = (v) => {
          signal.removeEventListener("abort", onAbort);
          resolve(v);
        };
        entry.reject = (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        };
      }
      this.queue.push(entry);
      this.dispatch();
    });
  }

  /** Starts the workers now (each runs its `init` then), rather than with the first jobs. */
  warm(): void {
    while (this.threads.size < this.max) this.threads.add(new JobThread(this, this.options));
  }

  /** Stops every worker; queued and running jobs fail with `lost(cause)`. The next job starts new ones. */
  close(cause: unknown = new Error(`${this.options.name} was closed`)): void {
    const err = this.options.lost(cause);
    for (const j of this.queue.splice(0)) this.fail(j, "error", err);
    for (const t of [...this.threads]) t.lose(err);
  }

  /** Workers started (idle or busy). */
  get started(): number {
    return this.threads.size;
  }

  /** Jobs waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  /** @internal Starts queued jobs on idle workers, starting workers up to the maximum. */
  dispatch(): void {
    while (this.queue.length > 0) {
      let idle = [...this.threads].find((t) => !t.busy);
      if (!idle && this.threads.size < this.max) {
        idle = new JobThread(this, this.options);
        this.threads.add(idle);
      }
      if (!idle) return;
      idle.run(this.queue.shift()!);
    }
  }

  /** @internal A worker is gone: the next job starts a new one. */
  gone(t: JobThread<Value>): void {
    if (this.threads.delete(t)) queueMicrotask(() => this.dispatch());
  }

  /** @internal */
  settleWith(job: Job<Value>, value: unknown): void {
    if (job.settled) return;
    let result: Value;
    try {
      result = this.options.result ? this.options.result(value) : (value as Value);
    } catch (err) {
      this.fail(job, "error", err instanceof Error ? err : new Error(String(err)));
      return;
    }
    job.settled = true;
    job.resolve(result);
  }

  /** @internal */
  fail(job: Job<Value>, how: "failed", failure: JobFailure): void;
  fail(job: Job<Value>, how: "error", err: Error): void;
  fail(job: Job<Value>, how: "failed" | "error", what: JobFailure | Error): void {
    if (job.settled) return;
    job.settled = true;
    job.reject(how === "failed" ? this.options.failed(what as JobFailure) : (what as Error));
  }
}
