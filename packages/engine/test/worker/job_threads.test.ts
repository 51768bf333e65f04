// JobThreads: the queue of jobs to worker threads behind constraint compiling, long-text
// tokenizing and the server's large-body parsing. Each job settles once: with its worker's value,
// its worker's error, its abort (queued: dropped; running: the worker is terminated and replaced),
// its limit (in the worker thread's own CPU time on Linux, with a wall-clock backstop) or its
// worker's loss (a crash or exit); workers run at the nice value asked for, the caller's thread
// keeps its own. Workers below the caller's priority are child processes (a low-priority thread
// would hold locks the event loop takes), with the same behaviour: every test runs for both kinds.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { getPriority, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { JobThreads, type JobThreadsOptions } from "../../src/worker/job_threads.js";
import { ownCpuMs, ownThreadId, ThreadClock } from "../../src/worker/thread_cpu.js";

const run = promisify(execFile);

/** A worker module from its source. */
const moduleOf = (src: string) => `data:text/javascript,${encodeURIComponent(src)}`;

/**
 * The test worker: `init` keeps its data; `handle` answers by the job's `do`: echo, throw, spin
 * (burn CPU until told ms pass), sleep (block without CPU), exit, crash (an uncaught error
 * outside the job), whoami (thread id and nice value, how many inits and jobs it saw).
 */
const WORKER = moduleOf(`
import { readdirSync, readlinkSync } from "node:fs";
import { getPriority } from "node:os";
let data;
let inits = 0;
let jobs = 0;
export function init(d) { data = d; inits++; }
export function handle(job) {
  jobs++;
  switch (job.do) {
    case "echo": return { value: job.value, data };
    case "throw": throw Object.assign(new Error("it failed: " + job.value), { code: "E_TEST", details: { subject: "the subject" } });
    case "spin": { const until = Date.now() + job.ms; while (Date.now() < until); return "spun"; }
    case "sleep": Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, job.ms); return "slept";
    case "exit": process.exit(3);
    case "crash": setTimeout(() => { throw new Error("crashed outside a job"); }); return new Promise(() => {});
    case "whoami": { const tid = Number(readlinkSync("/proc/thread-self").split("/").pop()); return { tid, nice: getPriority(tid), inits, jobs }; }
    case "bytes": return new Int32Array([1, 2, 3]);
    case "where": { let nice = []; try { nice = readdirSync("/proc/self/task").map((t) => getPriority(Number(t))); } catch {} return { pid: process.pid, nice }; }
  }
}
export function transferOf(value) { return value instanceof Int32Array ? [value.buffer] : []; }
`);

class Lost extends Error {}
class Failed extends Error {
  constructor(readonly failure: { message: string; code?: string; subject?: string }) {
    super(failure.message);
  }
}

const open: JobThreads<unknown>[] = [];
afterEach(() => {
  for (const t of open.splice(0)) t.close();
});

/** The nice value of the lanes the shared tests make (see `describe.each` below). */
let laneNice = 0;

function threads(opts: Partial<JobThreadsOptions<unknown>> = {}): JobThreads<unknown> {
  const t = new JobThreads<unknown>({
    name: "the test thread",
    module: WORKER,
    nice: laneNice,
    failed: (f) => new Failed(f),
    lost: (cause) => new Lost(String(cause instanceof Error ? cause.message : cause)),
    ...opts,
  });
  open.push(t);
  return t;
}

const whoami = (t: JobThreads<unknown>, opts = {}) =>
  t.run({ do: "whoami" }, opts) as Promise<{ tid: number; nice: number; inits: number; jobs: number }>;
const caught = (p: Promise<unknown>) =>
  p.then(
    (v) => ({ value: v }),
    (err: unknown) => ({ err }),
  );

// Processes at nice 1: any nice value above 0 makes a lane a process, and these tests are about the
// lane's behaviour, not its priority (below); at nice 19 a busy test machine starves the workers for
// tens of seconds and their replies' order stops being the order the jobs finished in.
describe.each([
  ["worker threads", 0],
  ["worker processes (nice 1)", 1],
])("JobThreads: %s", (_kind, nice) => {
  beforeEach(() => {
    laneNice = nice;
  });
  afterEach(() => {
    laneNice = 0;
  });

  it("runs jobs on a worker that was initialised once with its data, and maps the results", async () => {
    const t = threads({ data: () => ({ spec: "x" }), result: (v) => ({ mapped: v }) });
    expect(await t.run({ do: "echo", value: 1 })).toEqual({ mapped: { value: 1, data: { spec: "x" } } });
    expect(await t.run({ do: "echo", value: [2, "文心"] })).toEqual({
      mapped: { value: [2, "文心"], data: { spec: "x" } },
    });
    const me = (await whoami(t)) as unknown as { mapped: { inits: number; jobs: number } };
    expect(me.mapped).toMatchObject({ inits: 1, jobs: 3 });
    expect(await t.run({ do: "bytes" })).toEqual({ mapped: new Int32Array([1, 2, 3]) });
  });

  it("runs up to `threads` jobs at once, the rest first come first served", async () => {
    const t = threads({ threads: 2 });
    // both workers up first: a worker process takes a while to start on a loaded machine, and one
    // that started late would finish job 1 after the other had done 0 and 2
    await Promise.all([whoami(t), whoami(t)]);
    const started = performance.now();
    const order: number[] = [];
    const jobs = [0, 1, 2, 3].map((i) => t.run({ do: "sleep", ms: 150 }).then(() => order.push(i)));
    await Promise.all(jobs);
    // two at a time: two rounds of 150 ms, not four, not one
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    expect(new Set(order.slice(0, 2))).toEqual(new Set([0, 1]));
    expect(new Set(order.slice(2))).toEqual(new Set([2, 3]));
    const tids = new Set((await Promise.all([whoami(t), whoami(t)])).map((w) => w.tid));
    expect(tids.size).toBe(2);
  });

  it("fails a job with what its worker threw, and keeps the worker", async () => {
    const t = threads();
    const before = await whoami(t);
    const { err } = (await caught(t.run({ do: "throw", value: 7 }))) as { err: Failed };
    expect(err).toBeInstanceOf(Failed);
    expect(err.failure).toEqual({ message: "it failed: 7", code: "E_TEST", subject: "the subject" });
    expect((await whoami(t)).tid).toBe(before.tid);
  });

  it("drops a queued job whose signal aborts: it never runs, the others do", async () => {
    const t = threads();
    const first = t.run({ do: "sleep", ms: 100 });
    const controller = new AbortController();
    let abortedMade = 0;
    const second = t.run(
      { do: "echo", value: 2 },
      {
        signal: controller.signal,
        aborted: () => {
          abortedMade++;
          return new Error("aborted while queued");
        },
      },
    );
    expect(t.queued).toBe(1);
    controller.abort();
    await expect(second).rejects.toThrow("aborted while queued");
    expect(t.queued).toBe(0);
    expect(await first).toBe("slept");
    expect((await whoami(t)).jobs).toBe(2); // the sleep and this: the aborted job never ran
    expect(abortedMade).toBe(1);
    // already aborted: refused without queueing
    await expect(t.run({ do: "echo" }, { signal: AbortSignal.abort(), aborted: () => new Lost("no") })).rejects.toThrow(
      "no",
    );
  });

  it("stops a running job whose signal aborts (its worker is replaced), or lets it finish if asked", async () => {
    const t = threads();
    const before = await whoami(t);
    const controller = new AbortController();
    const started = performance.now();
    const spinning = caught(
      t.run({ do: "spin", ms: 60_000 }, { signal: controller.signal, aborted: () => new Error("stopped") }),
    );
    setTimeout(() => controller.abort(), 100);
    const { err } = (await spinning) as { err: Error };
    expect(err.message).toBe("stopped");
    expect(performance.now() - started).toBeLessThan(10_000);
    const after = await whoami(t);
    expect(after.tid).not.toBe(before.tid);
    expect(after.jobs).toBe(1);

    const finishing = new AbortController();
    const slept = t.run({ do: "sleep", ms: 200 }, { signal: finishing.signal, stopRunningOnAbort: false });
    setTimeout(() => finishing.abort(), 50);
    expect(await slept).toBe("slept");
    expect((await whoami(t)).tid).toBe(after.tid);
    // an abort after the job settled changes nothing
    const done = new AbortController();
    expect(await t.run({ do: "echo", value: 1 }, { signal: done.signal })).toMatchObject({ value: 1 });
    done.abort();
  });

  it("fails the job of a worker that exits or crashes, once, and starts a new worker for the next", async () => {
    let lost = 0;
    const t = threads({
      lost: (cause) => {
        lost++;
        return new Lost(String(cause instanceof Error ? cause.message : cause));
      },
    });
    const first = await whoami(t);
    await expect(t.run({ do: "exit" })).rejects.toThrow(/the test thread exited \(3\)/);
    expect(lost).toBe(1);
    const second = await whoami(t);
    expect(second.tid).not.toBe(first.tid);
    expect(second.inits).toBe(1);
    await expect(t.run({ do: "crash" })).rejects.toThrow("crashed outside a job");
    expect(lost).toBe(2);
    expect((await whoami(t)).tid).not.toBe(second.tid);
    // jobs queued behind a lost one still run, on the new worker
    const queued = [t.run({ do: "exit" }), t.run({ do: "echo", value: "after" })].map(caught);
    const [a, b] = await Promise.all(queued);
    expect((a as { err: Error }).err).toBeInstanceOf(Lost);
    expect((b as { value: unknown }).value).toMatchObject({ value: "after" });
  });

  it("fails queued and running jobs on close, and starts again afterwards", async () => {
    const t = threads();
    const running = caught(t.run({ do: "sleep", ms: 5000 }));
    const queued = caught(t.run({ do: "echo" }));
    await new Promise((r) => setTimeout(r, 50));
    t.close(new Error("closing"));
    expect(((await running) as { err: Error }).err.message).toBe("closing");
    expect(((await queued) as { err: Error }).err.message).toBe("closing");
    expect(await t.run({ do: "echo", value: 3 })).toMatchObject({ value: 3 });
  });

  it("never keeps the process alive: one that started its workers ahead of any job, or ran one, exits", async () => {
    // A process of its own (the built module: `pnpm build` runs before the tests), as `wenxin serve` is.
    const jobThreads = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dist/worker/job_threads.js");
    const script = (runJob: boolean) => `
      const { JobThreads } = await import(${JSON.stringify(pathToFileURL(jobThreads).href)});
      const t = new JobThreads({ name: "t", module: ${JSON.stringify(WORKER)}, nice: ${nice}, threads: 2,
        failed: (f) => new Error(f.message), lost: (c) => new Error(String(c)) });
      t.warm();
      if (${runJob}) console.log(JSON.stringify(await t.run({ do: "echo", value: 7 })));
      console.log("started", t.started);`;
    const dir = await mkdtemp(path.join(tmpdir(), "wenxin-job-threads-"));
    for (const runJob of [false, true]) {
      // a file, not `-e`: a worker thread inherits `--input-type=module`, and its bootstrap is CommonJS
      const file = path.join(dir, `exits_${runJob}.mjs`);
      await writeFile(file, script(runJob));
      const { stdout } = await run(process.execPath, [file], { timeout: 30_000 });
      expect(stdout).toContain("started 2");
      if (runJob) expect(stdout).toContain('{"value":7}');
    }
    await rm(dir, { recursive: true });
  });

  it("limits a running job in its worker's own CPU time, not the time it waits", async () => {
    const t = threads();
    const limit = (cpuMs: number, wallMs: number) => ({ cpuMs, wallMs, error: () => new Error("over the limit") });
    // burning CPU past 200 ms: stopped, the worker replaced
    const before = await whoami(t);
    const started = performance.now();
    await expect(t.run({ do: "spin", ms: 60_000 }, { limit: limit(200, 60_000) })).rejects.toThrow("over the limit");
    expect(performance.now() - started).toBeGreaterThanOrEqual(200);
    expect(performance.now() - started).toBeLessThan(30_000);
    expect((await whoami(t)).tid).not.toBe(before.tid);
    // blocked without using a CPU for 600 ms: within a 200 ms CPU limit where the CPU time is
    // known (Linux), over it where the limit falls back to wall-clock time
    const sleeping = caught(t.run({ do: "sleep", ms: 600 }, { limit: limit(200, 60_000) }));
    if (ownCpuMs() !== undefined) expect(await sleeping).toEqual({ value: "slept" });
    else expect(((await sleeping) as { err: Error }).err.message).toBe("over the limit");
    // the wall-clock backstop
    await expect(t.run({ do: "sleep", ms: 5_000 }, { limit: limit(60_000, 300) })).rejects.toThrow("over the limit");
    expect(await t.run({ do: "echo", value: 4 })).toMatchObject({ value: 4 });
  });
});

describe("JobThreads' priorities", () => {
  // Below the process's priority (so a process lane), but not nice 19, whose start a busy test machine
  // starves for tens of seconds: every nice value above 0 takes the same path.
  const LOW = 10;

  it("runs its workers at the nice value asked for, leaving the caller's thread as it was (Linux)", async () => {
    const mine = getPriority();
    const low = await whoami(threads({ nice: LOW }));
    const plain = await whoami(threads());
    if (ownThreadId() === undefined) return; // the nice value is per thread only on Linux
    expect(low.nice).toBe(LOW);
    expect(plain.nice).toBe(mine);
    expect(getPriority()).toBe(mine);
  });

  it("runs workers below the process's priority in a child process, every thread of it at that nice value", async () => {
    const where = (t: JobThreads<unknown>) => t.run({ do: "where" }) as Promise<{ pid: number; nice: number[] }>;
    const low = await where(threads({ nice: LOW }));
    const plain = await where(threads());
    expect(plain.pid).toBe(process.pid);
    expect(low.pid).not.toBe(process.pid);
    if (ownThreadId() === undefined) return; // /proc and per-thread nice values: Linux
    expect(low.nice.length).toBeGreaterThan(1); // V8's platform threads, started before the bootstrap ran
    expect(new Set(low.nice)).toEqual(new Set([LOW]));
  });
});

describe("ThreadClock", () => {
  it("counts this thread's CPU time, not the time it waits (Linux), else wall-clock time", () => {
    const clock = new ThreadClock(0);
    const wallStart = performance.now();
    const start = clock.now();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    const waited = clock.now() - start;
    const spinStart = clock.now();
    const until = performance.now() + 100;
    while (performance.now() < until);
    const spun = clock.now() - spinStart;
    expect(clock.cpu).toBe(ownCpuMs() !== undefined);
    if (clock.cpu) {
      expect(waited).toBeLessThan(50);
      expect(spun).toBeGreaterThan(0);
      expect(spun).toBeLessThanOrEqual(performance.now() - wallStart);
    } else expect(waited).toBeGreaterThanOrEqual(200);
  });
});
