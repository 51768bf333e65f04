/**
 * Encoding long texts off the event loop. The tokenizer is JavaScript, and a text near the
 * context's character bound (maxContext × the longest piece: ~86,000 characters for a 4096-token
 * context) takes hundreds of milliseconds to encode, more on a loaded machine; on the event loop
 * that holds every other request, `/health` and signal handling. A `TokenizerThread` runs jobs on
 * worker threads (`tokenizer_worker.ts`, through `JobThreads`), each with its own copy of the
 * tokenizer, in two lanes, each first come first served: jobs of up to `BULK_ENCODE_CHARS`
 * characters on a worker thread at the process's priority, longer ones on a worker at the lowest
 * priority (nice 19, worker/low_priority.ts: a child process, whose threads share no lock with
 * the event loop, see JobThreads), so that the longest texts (a client's prompt near the context's bound, an
 * embeddings request of thousands of inputs) take CPU time the engine's threads and the event
 * loop leave over, and a text of ordinary length never waits behind them. Workers are unreferenced while
 * idle, so they never keep the process alive; a worker that fails is replaced on the next job.
 */
import { WenxinError } from "../errors.js";
import { JobThreads, wenxinErrorOf } from "../worker/job_threads.js";
import { lowPriorityNice } from "../worker/low_priority.js";
import type { EncodeJob, EncodeValue } from "./tokenizer_worker.js";

/** The worker script: next to this module once built; run from source (the tests' transform), the built copy. */
function workerUrl(): URL {
  return import.meta.url.endsWith(".ts")
    ? new URL("../../dist/tokenizer/tokenizer_worker.js", import.meta.url)
    : new URL("./tokenizer_worker.js", import.meta.url);
}

/** Jobs of more characters than this (all their texts together) go to the low-priority worker. */
export const BULK_ENCODE_CHARS = 16 * 1024;

type Encoded = { ids: number[][]; tokens: number };

export class TokenizerThread {
  private readonly fast: JobThreads<Encoded>;
  private readonly bulk: JobThreads<Encoded>;

  /** `spec()`: the JSON the workers build their tokenizer from (asked for once per worker). */
  constructor(spec: () => string) {
    this.fast = lane("the tokenizer thread", spec, 0);
    this.bulk = lane("the bulk tokenizer thread", spec, lowPriorityNice());
  }

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
    const job: EncodeJob = { texts, limit, addSpecialTokens };
    const chars = texts.reduce((n, t) => n + t.length, 0);
    return (chars > BULK_ENCODE_CHARS ? this.bulk : this.fast).run(job, {
      signal,
      aborted: () => new WenxinError("ERR_WENXIN_ABORTED", "tokenizing was aborted by its signal"),
      stopRunningOnAbort: false,
    });
  }

  /**
   * Starts both workers now (each builds its copy of the tokenizer then, ~35 MB for a 100k-token
   * vocabulary), rather than with the first job of each lane.
   */
  warm(): void {
    this.fast.warm();
    this.bulk.warm();
  }

  /** Stops the workers; jobs still queued or running fail. */
  close(): void {
    const closed = new WenxinError("ERR_WENXIN_ABORTED", "the tokenizer thread was closed");
    this.fast.close(closed);
    this.bulk.close(closed);
  }
}

function lane(name: string, spec: () => string, nice: number): JobThreads<Encoded> {
  return new JobThreads<Encoded>({
    name,
    module: workerUrl(),
    data: spec,
    nice,
    result: (v) => {
      const { ids, tokens } = v as EncodeValue;
      return { ids: ids.map((a) => Array.from(a)), tokens };
    },
    failed: (f) => wenxinErrorOf(f, "ERR_WENXIN_TOKENIZER"),
    lost: (cause) => (cause instanceof WenxinError ? cause : new WenxinError("ERR_WENXIN_TOKENIZER", String(cause))),
  });
}
