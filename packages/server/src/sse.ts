/**
 * Server-sent events as OpenAI streams them: `data: <json>\n\n` frames (with an `event:` line
 * where the API names its events, as /v1/responses does), a final `data: [DONE]\n\n` for the
 * chat and completions APIs, and an error event when a stream fails after its headers went out.
 *
 * The headers go out on the first write or on `open()`: a request that has to wait for an engine
 * slot opens its stream early, so comments (`: keep-alive`) can tell the client and any proxy in
 * between that it is still alive while it waits and while its prompt is prefilled. A comment is
 * written whenever nothing else was for `keepAliveMs`.
 *
 * The body is a PassThrough handed to fastify, so fastify keeps logging and timing the request.
 */
import { PassThrough } from "node:stream";

import type { FastifyReply } from "fastify";

import type { ApiError } from "./errors.js";

export interface SseOptions {
  /** Write a comment when nothing was written for this long, in ms; 0 for never. */
  keepAliveMs: number;
  /** Written last by `done()`; undefined for APIs that end without one. */
  doneFrame?: string;
}

export class SseStream {
  private readonly body = new PassThrough();
  private started = false;
  private ended = false;
  private drained: Promise<void> | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private wroteSinceTick = false;

  constructor(
    private readonly reply: FastifyReply,
    private readonly options: SseOptions,
  ) {}

  /** True once the headers went out: from then on failures are events, not statuses. */
  get opened(): boolean {
    return this.started;
  }

  /** Sends the headers (200, text/event-stream) and starts the keep-alive comments. */
  open(): void {
    if (this.started) return;
    this.started = true;
    this.reply
      .code(200)
      .headers({
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-accel-buffering": "no", // proxies must not hold chunks back
      })
      .send(this.body);
    if (this.options.keepAliveMs > 0) {
      this.keepAlive = setInterval(() => {
        if (!this.wroteSinceTick) this.write(": keep-alive\n\n");
        this.wroteSinceTick = false;
      }, this.options.keepAliveMs);
      this.keepAlive.unref();
    }
    this.body.once("close", () => clearInterval(this.keepAlive));
  }

  /** Writes one `data:` frame; a no-op once the stream ended or the client left. */
  send(data: unknown): void {
    this.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Writes one named event (`event: <type>` then its data), as /v1/responses streams them. */
  sendEvent(type: string, data: unknown): void {
    this.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(frame: string): void {
    this.open();
    if (this.ended || this.body.destroyed) return;
    this.wroteSinceTick = true;
    this.body.write(frame);
  }

  /** True while the client has not taken what was written (the socket's buffers full). */
  get backedUp(): boolean {
    return !this.ended && !this.body.destroyed && this.body.writableNeedDrain;
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

  /** Ends the stream (with the API's final frame, if it has one). */
  done(): void {
    if (this.ended) return;
    this.open();
    this.ended = true;
    clearInterval(this.keepAlive);
    if (!this.body.destroyed) this.body.end(this.options.doneFrame ?? "");
  }

  /** Ends a stream that failed mid-way with an error event (`{error: …}`), then the final frame. */
  fail(error: ApiError): void {
    this.send(error.toBody());
    this.done();
  }
}

/** The chat and completions APIs' streams: data frames and a final `[DONE]`. */
export function openAiStream(reply: FastifyReply, keepAliveMs: number): SseStream {
  return new SseStream(reply, { keepAliveMs, doneFrame: "data: [DONE]\n\n" });
}
