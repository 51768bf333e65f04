/**
 * Server-sent events as OpenAI streams them: one `data: <json>\n\n` frame per chunk, a final
 * `data: [DONE]\n\n`, and `data: {"error": …}` when a stream fails after its headers went out.
 * The body is a PassThrough handed to fastify, so fastify keeps logging and timing the request.
 */
import { PassThrough } from "node:stream";

import type { FastifyReply } from "fastify";

import type { ApiError } from "./errors.js";

export class SseStream {
  private readonly body = new PassThrough();
  private ended = false;
  private drained: Promise<void> | undefined;

  constructor(reply: FastifyReply, extraHeaders: Record<string, string> = {}) {
    reply
      .code(200)
      .headers({
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-accel-buffering": "no", // proxies must not hold chunks back
        ...extraHeaders,
      })
      .send(this.body);
  }

  /** Writes one event; a no-op once the stream ended or the client left. */
  send(data: unknown): void {
    if (this.ended || this.body.destroyed) return;
    this.body.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /**
   * Resolves once the client has taken what was written (at once when nothing is held back), or
   * when the stream ends or `signal` aborts. Awaiting it before the next engine event lets a client
   * that reads slowly slow its own generation down, instead of the server buffering for it.
   */
  writable(signal?: AbortSignal): Promise<void> {
    if (this.ended || this.body.destroyed || !this.body.writableNeedDrain || signal?.aborted) return Promise.resolve();
    // Every choice of the request waits on the same drain: one listener, however many choices.
    this.drained ??= new Promise<void>((resolve) => {
      const done = () => {
        this.body.off("drain", done);
        this.body.off("close", done);
        signal?.removeEventListener("abort", done);
        this.drained = undefined;
        resolve();
      };
      this.body.once("drain", done);
      this.body.once("close", done);
      signal?.addEventListener("abort", done, { once: true });
    });
    return this.drained;
  }

  /** Ends the stream with `[DONE]`. */
  done(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.body.destroyed) this.body.end("data: [DONE]\n\n");
  }

  /** Ends a stream that failed mid-way with an error event, then `[DONE]`. */
  fail(error: ApiError): void {
    this.send(error.toBody());
    this.done();
  }
}
