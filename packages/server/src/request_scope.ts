/**
 * The life of one request that uses the engine: an AbortController that fires when the client
 * disconnects or the server gives up draining, a slot from the admission queue, its entry among
 * the requests in flight, and the per-request metrics (time to first token, tokens).
 */
import type { FastifyReply, FastifyRequest } from "fastify";

import type { Release } from "./admission.js";
import { ApiError } from "./errors.js";
import type { InFlightRequest } from "./served_model.js";
import type { ServingContext } from "./serving_context.js";

export class RequestScope {
  readonly controller = new AbortController();
  private release: Release | undefined;
  private inFlight: { request: InFlightRequest; end: () => void } | undefined;
  private firstTokenSeen = false;
  private gone = false;
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
  async admit(sequences = 1, param: string | null = "n"): Promise<void> {
    this.release = await this.model.admission.acquire(this.signal, sequences, param);
    this.inFlight = this.model.begin(this.controller);
    if (this.model.state !== "ready") {
      this.end();
      this.model.requireEngine(); // throws the 503 that says why
    }
  }

  /** Counts the request's prompt tokens (once, whatever `n`). */
  countPrompt(promptTokens: number): void {
    this.metrics.promptTokens.inc(promptTokens);
  }

  /** Called for every engine step's new tokens. */
  onGenerated(count: number): void {
    if (count <= 0) return;
    if (!this.firstTokenSeen) {
      this.firstTokenSeen = true;
      this.metrics.timeToFirstToken.observe({ route: this.route }, (performance.now() - this.startedAt) / 1000);
    }
    this.metrics.addGenerated(count);
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
