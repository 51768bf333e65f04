import { describe, expect, it } from "vitest";

import { AdmissionQueue } from "../src/admission.js";
import { ApiError } from "../src/errors.js";

describe("AdmissionQueue", () => {
  it("runs up to maxConcurrency, queues up to maxQueue, refuses the rest with 429", async () => {
    const q = new AdmissionQueue(2, 1);
    const a = await q.acquire();
    const b = await q.acquire();
    expect([q.running, q.queued]).toEqual([2, 0]);
    let cGranted = false;
    const c = q.acquire().then((release) => {
      cGranted = true;
      return release;
    });
    expect(q.queued).toBe(1);
    const refused = await q.acquire().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 429, code: "queue_full", type: "rate_limit_error" });
    a();
    const releaseC = await c;
    expect(cGranted).toBe(true);
    expect([q.running, q.queued]).toEqual([2, 0]);
    b();
    releaseC();
    releaseC(); // twice is harmless
    expect(q.running).toBe(0);
  });

  it("serves waiters first come, first served", async () => {
    const q = new AdmissionQueue(1, 10);
    const first = await q.acquire();
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) => q.acquire().then((release) => (order.push(n), release)));
    first();
    for (const w of waiters) (await w)();
    expect(order).toEqual([1, 2, 3]);
  });

  it("gives slots to fresh requests before requests taking theirs back after their client lagged", async () => {
    const q = new AdmissionQueue(2, 1);
    const held = [await q.acquire(), await q.acquire()];
    const order: string[] = [];
    const lagged = [1, 2].map((n) =>
      q.acquire(undefined, 1, null, undefined, true).then((release) => (order.push(`lagged ${n}`), release)),
    );
    const fresh = q.acquire().then((release) => (order.push("fresh"), release)); // maxQueue counts fresh waiters only
    expect([q.queued, q.lagging]).toEqual([3, 2]);
    held[0]!();
    const f = await fresh;
    expect(order).toEqual(["fresh"]);
    held[1]!();
    f();
    for (const l of lagged) (await l)();
    expect(order).toEqual(["fresh", "lagged 1", "lagged 2"]);
    expect([q.running, q.queued, q.lagging]).toEqual([0, 0, 0]);
    // with no fresh request waiting, a resuming one is admitted at once, and counted while it runs
    const r = await q.acquire(undefined, 1, null, undefined, true);
    expect([q.running, q.lagging]).toEqual([1, 1]);
    // a fresh request is admitted at once beside resuming ones that do not fit
    const big = q.acquire(undefined, 2, null, undefined, true);
    const small = await q.acquire();
    expect([q.running, q.queued]).toEqual([2, 1]);
    r();
    small();
    (await big)();
    expect([q.running, q.queued, q.lagging]).toEqual([0, 0, 0]);
  });

  it("lets requests taking their slots back hold a quarter of the slots at most", async () => {
    const q = new AdmissionQueue(8, 10);
    const resume = (n: number) => q.acquire(undefined, n, null, undefined, true);
    const a = await resume(1);
    const b = await resume(1); // 2 of 8: the quarter
    let cGranted = false;
    const c = resume(1).then((r) => ((cGranted = true), r));
    await Promise.resolve();
    expect([q.running, q.queued, cGranted]).toEqual([2, 1, false]);
    // fresh requests still find the other six slots
    const fresh = await Promise.all([1, 2, 3].map(() => q.acquire(undefined, 2)));
    expect(q.running).toBe(5);
    a();
    (await c)();
    b();
    for (const r of fresh) r();
    // one request alone may need more than the quarter: it runs when no other resumed one holds slots
    (await resume(5))();
    expect([q.running, q.queued, q.lagging]).toEqual([0, 0, 0]);
  });

  it("drops a waiter whose signal aborts, with the signal's reason", async () => {
    const q = new AdmissionQueue(1, 5);
    const held = await q.acquire();
    const ac = new AbortController();
    const waiting = q.acquire(ac.signal);
    expect(q.queued).toBe(1);
    ac.abort(new Error("client left"));
    await expect(waiting).rejects.toThrow("client left");
    expect(q.queued).toBe(0);
    held();
    expect(q.running).toBe(0); // the slot went to nobody
    await expect(q.acquire(ac.signal)).rejects.toThrow("client left");
  });

  it("refuses everyone waiting when told to", async () => {
    const q = new AdmissionQueue(1, 5);
    await q.acquire();
    const waiting = [q.acquire(), q.acquire()];
    q.rejectWaiting(new ApiError(503, "service_unavailable_error", "draining", "server_draining"));
    for (const w of waiting) await expect(w).rejects.toMatchObject({ status: 503 });
    expect(q.queued).toBe(0);
  });
});

describe("AdmissionQueue counts sequences", () => {
  it("holds a request's prompts × n slots, and admits the next one only when they fit", async () => {
    const q = new AdmissionQueue(8, 10);
    const big = await q.acquire(undefined, 6);
    expect([q.running, q.runningSequences]).toEqual([1, 6]);
    let granted = false;
    const next = q.acquire(undefined, 4).then((release) => ((granted = true), release));
    // Behind it, a small request that would fit waits its turn: the head is not overtaken.
    const small = q.acquire(undefined, 1);
    await Promise.resolve();
    expect([granted, q.queued]).toEqual([false, 2]);
    big();
    (await next)();
    (await small)();
    expect(granted).toBe(true);
    expect(q.runningSequences).toBe(0);
  });

  it("refuses a request that alone needs more sequences than run at once", async () => {
    const q = new AdmissionQueue(64, 10);
    await expect(q.acquire(undefined, 1024, "prompt")).rejects.toMatchObject({
      status: 400,
      code: "too_many_sequences",
      param: "prompt",
    });
    expect(q.running).toBe(0);
  });

  it("lets waiters behind an aborted large request in", async () => {
    const q = new AdmissionQueue(4, 10);
    const held = await q.acquire(undefined, 2);
    const ac = new AbortController();
    const large = q.acquire(ac.signal, 4);
    const small = q.acquire(undefined, 2);
    ac.abort(new Error("gone"));
    await expect(large).rejects.toThrow("gone");
    (await small)();
    held();
    expect(q.runningSequences).toBe(0);
  });
});
