/**
 * The life of one request that uses the engine: an AbortController that fires when the client
 * disconnects or the server gives up draining, a slot from the admission queue, its entry among
 * the requests in flight, and the per-request metrics (time to first token, tokens).
 */
import type { FastifyReply, FastifyRequest } from "fastify";

import type { Release } from "./admission.js";
import { ApiError, toApiError } from "./errors.js";
import { LagBackoff } from "./lag_backoff.js";
import type { InFlightRequest } from "./served_model.js";
import type { ServingContext } from "./serving_context.js";
import type { SseStream } from "./sse.js";

export class RequestScope {
  readonly controller = new AbortController();
  private release: Release | undefined;
  private inFlight: { request: InFlightRequest; end: () => void } | undefined;
  private firstTokenSeen = false;
  /** When each choice's last token came, for the inter-token latency. */
  private readonly lastTokenAt = new Map<number, number>();
  /** Sequences the request holds admission slots for. */
  private sequences = 1;
  /** The slots given up while the client lags, until they are taken back. */
  private yielded: Promise<void> | undefined;
  /** What pauses the request's engine work while its client lags, and resumes it. */
  private lagHandlers: { pause(): void; resume(): void } | undefined;
  private gone = false;
  /** Set once the client lagged: from then on the request's output is handled in the background lane. */
  private lagged = false;
  private readonly backoff = new LagBackoff();
  /** What the socket had taken (handed to the kernel) when the request last resumed. */
  private sentAtResume: number | undefined;
  private readonly startedAt = performance.now();

  constructor(
    private readonly route: string,
    private readonly ctx: ServingContext,
    reply: FastifyReply,
    readonly request: FastifyRequest,
  ) {
    // 'close' also fires after a normal end; only an unfinished response means the client left
    // (or was cut off for not reading what it was sent).
    reply.raw.once("close", () => {
      if (reply.raw.writableFinished) return;
      this.gone = true;
      if (ctx.stalls.cutOff(reply.raw.socket)) {
        const error = new ApiError(
          408,
          "invalid_request_error",
          `the client read nothing for ${ctx.options.streamIdleTimeoutMs / 1000} s and was disconnected`,
          "stream_idle_timeout",
        );
        this.streamFailed(error); // nobody is left to answer, so it is counted here
        this.controller.abort(error);
      } else
        this.controller.abort(
          new ApiError(499, "invalid_request_error", "the client closed the connection", "client_closed_request"),
        );
    });
  }

  private get model() {
    return this.ctx.model;
  }

  private get metrics() {
    return this.ctx.metrics;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True when the client went away (or drain aborted the request). */
  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** True when the client closed the connection before the response was complete. */
  get clientGone(): boolean {
    return this.gone;
  }

  /** The error to answer with: the abort's reason when the request was aborted, else `err`. */
  failure(err: unknown): unknown {
    return this.aborted ? this.signal.reason : err;
  }

  /**
   * Waits for `sequences` engine slots (one per prompt × choice; 429 when the queue is full, 400
   * naming `param` when one request alone needs more than run at once) and registers the request
   * as in flight.
   */
  async admit(sequences = 1, param: string | null = "n", onWait?: () => void): Promise<void> {
    this.sequences = sequences;
    this.release = await this.model.admission.acquire(this.signal, sequences, param, onWait);
    this.metrics.recordQueueTime((performance.now() - this.startedAt) / 1000);
    this.inFlight = this.model.begin(this.controller);
    if (this.model.state !== "ready") {
      this.end();
      this.model.requireEngine(); // throws the 503 that says why
    }
  }

  /** Registers what pauses the request's engine work while its client lags (and resumes it after). */
  onLag(handlers: { pause(): void; resume(): void }): void {
    this.lagHandlers = handlers;
  }

  /**
   * Resolves once the client has taken what the stream holds. While it lags (its socket full), the
   * request's engine work is paused and its admission slots go to the requests waiting, so clients
   * that stop reading cannot hold the server; the slots are taken back, after every fresh request
   * waiting, before generation goes on. Every choice of the request waits on the same turn.
   */
  awaitClient(stream: SseStream): Promise<void> {
    if (!stream.backedUp) return Promise.resolve();
    return (this.yielded ??= this.yieldSlots(stream).finally(() => (this.yielded = undefined)));
  }

  /** True once the request's client lagged (as the engine's background class: for good). */
  get background(): boolean {
    return this.lagged;
  }

  /**
   * Resolves when the request's next engine output may be handled: at once for a request whose
   * client never lagged; for one that did, on a turn of the event loop of its own
   * (`ServingContext.background`), so that it never holds the loop beside other requests' work.
   */
  handleNext(): Promise<void> | undefined {
    return this.lagged ? this.ctx.background.turn() : undefined;
  }

  private async yieldSlots(stream: SseStream): Promise<void> {
    this.lagged = true;
    this.lagHandlers?.pause(); // before the slots go: no one else's slot is shared with work still running
    this.release?.();
    this.release = undefined;
    const sent = this.sent();
    const waitMs = this.backoff.onLag(this.sentAtResume === undefined ? undefined : sent - this.sentAtResume);
    await stream.writable(this.signal);
    if (waitMs > 0) await sleepUnlessAborted(waitMs, this.signal);
    if (this.signal.aborted) return;
    this.release = await this.model.admission.acquire(this.signal, this.sequences, null, undefined, true);
    this.sentAtResume = this.sent();
    this.lagHandlers?.resume();
  }

  /** Bytes the socket has handed to the kernel so far (written, less what still waits in Node). */
  private sent(): number {
    const socket = this.request.raw?.socket;
    return socket ? socket.bytesWritten - socket.writableLength : 0;
  }

  /** Counts the request's prompt tokens (once, whatever `n`). */
  countPrompt(promptTokens: number): void {
    this.metrics.promptTokens.inc(promptTokens);
  }

  /** Called for every engine step's new tokens of choice `choice`. */
  onGenerated(count: number, choice = 0): void {
    if (count <= 0) return;
    const now = performance.now();
    const last = this.lastTokenAt.get(choice);
    if (last !== undefined)
      for (let i = 0; i < count; i++) this.metrics.recordInterTokenLatency((now - last) / 1000 / count);
    this.lastTokenAt.set(choice, now);
    if (!this.firstTokenSeen) {
      this.firstTokenSeen = true;
      this.metrics.timeToFirstToken.observe({ route: this.route }, (performance.now() - this.startedAt) / 1000);
    }
    this.metrics.addGenerated(count);
  }

  /**
   * Answers a failure: throws it (the error handler sends its status) while no stream has started,
   * else ends the stream with an error event (`streamError`, where the API has its own form);
   * nothing when the client is gone.
   */
  fail(err: unknown, stream: SseStream | undefined, streamError?: (error: ApiError) => void): void {
    const failure = this.failure(err);
    if (!stream?.opened) throw failure;
    if (this.clientGone) return; // nobody left to tell
    const error = toApiError(failure, String(this.request.id));
    this.streamFailed(error);
    if (streamError) streamError(error);
    else stream.fail(error);
  }

  /** Counts a sequence that ended, by why. */
  onFinished(reason: "stop" | "length" | "abort"): void {
    this.metrics.recordFinished(reason);
  }

  /** Counts an error that happened after the response headers went out (so the status stays 200). */
  streamFailed(error: ApiError): void {
    this.metrics.errors.inc({ route: this.route, status: String(error.status), code: error.code ?? "" });
  }

  /** Frees the slot; safe to call more than once. */
  end(): void {
    this.release?.();
    this.release = undefined;
    this.inFlight?.end();
    this.inFlight = undefined;
  }
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
