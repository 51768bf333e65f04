import { ApiError } from "./errors.js";

/** Hands back a slot taken with `acquire`; calling it twice is harmless. */
export type Release = () => void;

interface Waiter {
  sequences: number;
  /** A request taking its slots back after its client fell behind. */
  resuming: boolean;
  grant: (release: Release) => void;
  reject: (err: unknown) => void;
}

/**
 * Bounds the work on one engine in sequences (one per prompt × choice): at most `maxConcurrency`
 * run, at most `maxQueue` requests wait (first come, first served: a large request at the head is
 * not overtaken by smaller ones), and the rest are refused at once with 429 so the server stays
 * responsive under load instead of piling up sockets.
 *
 * Requests whose clients fell behind and that take their slots back (`resuming`) come after every
 * fresh request: they get slots only while no fresh request waits, and together they hold at most
 * a quarter of them (or one request's, when that is more), so fresh requests find free slots at
 * once. A client that never reads, but whose socket now and then takes a little more, would
 * otherwise be resumed, recomputed and paused again in turn with everyone else, without end.
 */
export class AdmissionQueue {
  private activeSequences = 0;
  private activeRequests = 0;
  /** Requests holding slots taken back as `resuming`, and their sequences. */
  private resumedRequests = 0;
  private resumedSequences = 0;
  /** The most sequences resuming requests may hold together (unless one alone needs more). */
  private readonly maxResumedSequences: number;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly maxConcurrency: number,
    readonly maxQueue: number,
  ) {
    this.maxResumedSequences = Math.max(1, Math.floor(maxConcurrency / 4));
  }

  /** Requests holding slots. */
  get running(): number {
    return this.activeRequests;
  }

  /** Sequences those requests hold. */
  get runningSequences(): number {
    return this.activeSequences;
  }

  /** Requests waiting for slots. */
  get queued(): number {
    return this.waiters.length;
  }

  /** Requests whose clients fell behind, holding or waiting for slots again. */
  get lagging(): number {
    return this.resumedRequests + this.waiters.filter((w) => w.resuming).length;
  }

  /**
   * Waits for `sequences` slots. Rejects with 400 when the request alone needs more than the
   * server runs at once (`param` names what to reduce), with 429 when the queue is full, and with
   * the signal's reason when the client goes away while waiting. `onWait` is called when the
   * request has to wait (not when it is admitted or refused at once). `resuming`: the request's
   * client fell behind and it takes its slots back (after every fresh request).
   */
  acquire(
    signal?: AbortSignal,
    sequences = 1,
    param: string | null = "n",
    onWait?: () => void,
    resuming = false,
  ): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    try {
      this.assertFits(sequences, param);
    } catch (err) {
      return Promise.reject(err);
    }
    const ahead = resuming ? this.waiters.length : this.waiters.filter((w) => !w.resuming).length;
    if (ahead === 0 && this.fits(sequences, resuming)) return Promise.resolve(this.take(sequences, resuming));
    // maxQueue bounds the fresh requests waiting; a resuming one was admitted once already and is
    // never refused mid-stream
    if (!resuming && ahead >= this.maxQueue)
      return Promise.reject(
        new ApiError(
          429,
          "rate_limit_error",
          `the server is busy: ${this.activeRequests} requests running and ${this.waiters.length} queued; retry later`,
          "queue_full",
        ),
      );
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        sequences,
        resuming,
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
        this.grantWaiting(); // a large request leaving the head may let smaller ones in
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
      onWait?.();
    });
  }

  /** Throws 400 when one request alone needs more sequences than run at once (checked before any work). */
  assertFits(sequences: number, param: string | null = "n"): void {
    if (sequences > this.maxConcurrency)
      throw new ApiError(
        400,
        "invalid_request_error",
        `this request needs ${sequences} sequences (prompts × n); the server runs at most ${this.maxConcurrency} at once`,
        "too_many_sequences",
        param,
      );
  }

  /** Refuses everyone still waiting (used when the server drains). */
  rejectWaiting(err: unknown): void {
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  private fits(sequences: number, resuming = false): boolean {
    if (this.activeSequences + sequences > this.maxConcurrency) return false;
    return !resuming || this.resumedSequences === 0 || this.resumedSequences + sequences <= this.maxResumedSequences;
  }

  /** Grants slots to the head of the fresh requests, else of the resuming ones, while they fit. */
  private grantWaiting(): void {
    for (;;) {
      let i = this.waiters.findIndex((w) => !w.resuming);
      if (i < 0) i = this.waiters.length > 0 ? 0 : -1;
      if (i < 0 || !this.fits(this.waiters[i]!.sequences, this.waiters[i]!.resuming)) return;
      const [next] = this.waiters.splice(i, 1);
      next!.grant(this.take(next!.sequences, next!.resuming));
    }
  }

  private take(sequences: number, resuming = false): Release {
    this.activeSequences += sequences;
    this.activeRequests++;
    if (resuming) {
      this.resumedRequests++;
      this.resumedSequences += sequences;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.activeSequences -= sequences;
      this.activeRequests--;
      if (resuming) {
        this.resumedRequests--;
        this.resumedSequences -= sequences;
      }
      this.grantWaiting();
    };
  }
}
