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
