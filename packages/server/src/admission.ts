import { ApiError } from "./errors.js";

/** Hands back a slot taken with `acquire`; calling it twice is harmless. */
export type Release = () => void;

interface Waiter {
  grant: (release: Release) => void;
  reject: (err: unknown) => void;
}

/**
 * Bounds the work on one engine: at most `maxConcurrency` requests run, at most `maxQueue` wait
 * (first come, first served), and the rest are refused at once with 429 so the server stays
 * responsive under load instead of piling up sockets.
 */
export class AdmissionQueue {
  private active = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly maxConcurrency: number,
    readonly maxQueue: number,
  ) {}

  /** Requests holding a slot. */
  get running(): number {
    return this.active;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.waiters.length;
  }

  /**
   * Waits for a slot. Rejects with 429 when the queue is full, and with the signal's reason
   * when the client goes away while waiting.
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.active < this.maxConcurrency && this.waiters.length === 0) return Promise.resolve(this.take());
    if (this.waiters.length >= this.maxQueue)
      return Promise.reject(
        new ApiError(
          429,
          "rate_limit_error",
          `the server is busy: ${this.active} requests running and ${this.waiters.length} queued; retry later`,
          "queue_full",
        ),
      );
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
        reject,
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Refuses everyone still waiting (used when the server drains). */
  rejectWaiting(err: unknown): void {
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  private take(): Release {
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      const next = this.waiters.shift();
      if (next) next.grant(this.take());
    };
  }
}
