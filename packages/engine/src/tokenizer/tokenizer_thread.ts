/**
 * Encoding long texts off the event loop. The tokenizer is JavaScript, and a text near the
 * context's character bound (maxContext × the longest piece: ~86,000 characters for a 4096-token
 * context) takes hundreds of milliseconds to encode, more on a loaded machine; on the event loop
 * that holds every other request, `/health` and signal handling. A `TokenizerThread` is one worker
 * thread (`tokenizer_worker.ts`) with its own copy of the tokenizer, started on first use; jobs run
 * first come first served. The worker is unreferenced while idle, so it never keeps the process
 * alive; a worker that fails is replaced on the next job.
 */
import { Worker } from "node:worker_threads";

import { isWenxinErrorCode, WenxinError } from "../errors.js";
import type { EncodeJob, EncodeReply } from "./tokenizer_worker.js";

/** The worker script: next to this module once built; run from source (the tests' transform), the built copy. */
function workerUrl(): URL {
  return import.meta.url.endsWith(".ts")
    ? new URL("../../dist/tokenizer/tokenizer_worker.js", import.meta.url)
    : new URL("./tokenizer_worker.js", import.meta.url);
}

interface Pending {
  job: EncodeJob;
  resolve(r: { ids: number[][]; tokens: number }): void;
  reject(err: unknown): void;
}

export class TokenizerThread {
  private worker: Worker | undefined;
  private readonly queue: Pending[] = [];
  private current: Pending | undefined;
  private nextId = 1;

  /** `spec()`: the JSON the worker builds its tokenizer from (asked for once per worker). */
  constructor(private readonly spec: () => string) {}

  /**
   * Encodes `texts` in order on the worker, stopping after the first one that takes the total past
   * `limit` tokens (default: no limit). Rejects as `encode` does; with ERR_WENXIN_ABORTED when
   * `signal` aborts before the job starts (a job that started runs to its end: its length was
   * bounded by the caller).
   */
  encode(
    texts: string[],
    {
      limit = Infinity,
      addSpecialTokens = false,
      signal,
    }: { limit?: number; addSpecialTokens?: boolean; signal?: AbortSignal },
  ): Promise<{ ids: number[][]; tokens: number }> {
    const aborted = () => new WenxinError("ERR_WENXIN_ABORTED", "tokenizing was aborted by its signal");
    if (signal?.aborted) return Promise.reject(aborted());
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = this.queue.indexOf(pending);
        if (at < 0) return;
        this.queue.splice(at, 1);
        pending.reject(aborted());
      };
      const settle =
        <T>(fn: (v: T) => void) =>
        (v: T) => {
          signal?.removeEventListener("abort", onAbort);
          fn(v);
        };
      const pending: Pending = {
        job: { id: this.nextId++, texts, limit, addSpecialTokens },
        resolve: settle(resolve),
        reject: settle(reject),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.push(pending);
      this.dispatch();
    });
  }

  /** Starts the worker now (it builds its copy of the tokenizer then), rather than on the first job. */
  warm(): void {
    this.start();
  }

  /** Stops the worker; jobs still queued or running fail. */
  close(): void {
    const err = new WenxinError("ERR_WENXIN_ABORTED", "the tokenizer thread was closed");
    for (const p of this.queue.splice(0)) p.reject(err);
    this.lose(err);
  }

  private dispatch(): void {
    if (this.current || this.queue.length === 0) return;
    const worker = this.start();
    this.current = this.queue.shift()!;
    worker.ref();
    worker.postMessage(this.current.job);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(workerUrl());
    worker.unref();
    worker.on("message", (reply: EncodeReply) => this.finish(reply));
    worker.on("error", (err) => this.lose(err));
    worker.on("exit", () => this.lose(new Error("the tokenizer thread exited")));
    worker.postMessage({ spec: this.spec() });
    this.worker = worker;
    return worker;
  }

  private finish(reply: EncodeReply): void {
    const cur = this.current;
    if (!cur || cur.job.id !== reply.id) return;
    this.current = undefined;
    this.worker?.unref();
    if (reply.ok) cur.resolve({ ids: reply.ids.map((a) => Array.from(a)), tokens: reply.tokens });
    else {
      const code = isWenxinErrorCode(reply.code) ? reply.code : "ERR_WENXIN_TOKENIZER";
      cur.reject(new WenxinError(code, reply.message));
    }
    this.dispatch();
  }

  /** The worker is gone (failed, exited or closed): its job fails with `err`; the next job starts a new one. */
  private lose(err: unknown): void {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      worker.removeAllListeners();
      void worker.terminate();
    }
    const cur = this.current;
    this.current = undefined;
    if (cur) cur.reject(err instanceof WenxinError ? err : new WenxinError("ERR_WENXIN_TOKENIZER", String(err)));
    queueMicrotask(() => this.dispatch());
  }
}
