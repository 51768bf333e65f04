import { WenxinError, fromNativeError } from "../errors.js";
import type { NativeTokenEvent, NativeTokenLogprob } from "../native/addon_types.js";
import { IncrementalDecoder } from "../tokenizer/incremental_decoder.js";
import type { WenxinTokenizer } from "../tokenizer/tokenizer.js";
import { AsyncQueue } from "./async_queue.js";
import type { ConstraintOutcome } from "./constraint.js";
import { StopStringMatcher } from "./stop_strings.js";

export type FinishReason = "stop" | "length";

/** A generated token's log-probability (raw logits, before sampling processors) and the likeliest alternatives. */
export type TokenLogprob = NativeTokenLogprob;

/** New tokens from one engine step, with the text they completed (possibly empty). */
export interface TokenEvent {
  type: "token";
  tokenIds: number[];
  text: string;
  /** With the `logprobs` option: one entry per id of `tokenIds`. */
  logprobs?: TokenLogprob[];
}

/**
 * Events buffered for a consumer that does not read: past the high mark the request is paused
 * (other requests keep running), below the low mark it resumes.
 */
const BUFFER_HIGH_WATER = 256;
const BUFFER_LOW_WATER = 64;

/** The last event of a generation. */
export interface GenerationResult {
  type: "done";
  /** Every generated id, the final end-of-sequence id included. */
  tokenIds: number[];
  /** The generated text: special tokens skipped, cut before a stop string. */
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  /** Present when the request had a `constraint`: the constrained value and whether it is complete. */
  constraint?: ConstraintOutcome;
}

export type GenerationEvent = TokenEvent | GenerationResult;

/**
 * One generation request as an async iterable: token events as the engine produces them,
 * then the result. Abort (signal or `cancel()`) rejects the iteration with ERR_WENXIN_ABORTED.
 */
export class GenerationStream implements AsyncIterable<GenerationEvent> {
  private readonly queue = new AsyncQueue<GenerationEvent>((buffered) => this.onTake(buffered));
  private paused = false;
  /** Paused by the consumer (`pause()`), whatever is buffered. */
  private held = false;
  private readonly setPaused: ((paused: boolean) => void) | undefined;
  private readonly decoder: IncrementalDecoder;
  private readonly stops: StopStringMatcher;
  private readonly tokenIds: number[] = [];
  private text = ""; // the text released so far (held-back stop-string prefixes excluded)
  private emitted = 0; // characters of `text` already handed out
  private finished = false;
  private final: GenerationResult | undefined;
  private resultPromise: Promise<GenerationResult> | undefined;
  private readonly endListeners: (() => void)[] = [];
  /** Constrained requests: the constrained output bytes and the latest progress. */
  private readonly constrained:
    { chunks: Uint8Array[]; triggered: boolean; complete: boolean; warnings: string[] } | undefined;

  constructor(
    tokenizer: WenxinTokenizer,
    stop: string[],
    private readonly promptTokens: number,
    private readonly cancelNative: () => void,
    options: {
      constrained?: boolean;
      triggered?: boolean;
      constraintWarnings?: string[];
      setPaused?: (paused: boolean) => void;
    } = {},
  ) {
    this.setPaused = options.setPaused;
    if (options.constrained)
      this.constrained = {
        chunks: [],
        triggered: options.triggered ?? true,
        complete: false,
        warnings: options.constraintWarnings ?? [],
      };
    this.decoder = new IncrementalDecoder(tokenizer, { skipSpecialTokens: true });
    this.stops = new StopStringMatcher(stop);
  }

  [Symbol.asyncIterator](): AsyncIterator<GenerationEvent> {
    return this.queue;
  }

  /**
   * Consumes what is left of the stream and resolves with the final result; after the stream was
   * iterated to its end, resolves with that same result.
   */
  result(): Promise<GenerationResult> {
    this.resultPromise ??= (async () => {
      for await (const ev of this) if (ev.type === "done") return ev;
      if (this.final) return this.final;
      throw new WenxinError("ERR_WENXIN_INTERNAL", "generation ended without a result");
    })();
    return this.resultPromise;
  }

  get done(): boolean {
    return this.finished;
  }

  /** Runs `fn` once the generation ends, however it ends (without consuming the stream). */
  onEnd(fn: () => void): void {
    if (this.finished) fn();
    else this.endListeners.push(fn);
  }

  /**
   * Stops the engine from computing this request until `resume()`, for a consumer that knows it
   * will take nothing for a while (a server whose client stopped reading): the request gives its
   * engine slot and KV blocks back now instead of filling the buffer first. It is recomputed,
   * mostly from the prefix cache, once resumed.
   */
  pause(): void {
    this.held = true;
    this.setPausedState(true);
  }

  /** Undoes `pause()`; the request runs again once what is buffered has been mostly taken. */
  resume(): void {
    this.held = false;
    if (this.queue.size <= BUFFER_LOW_WATER) this.setPausedState(false);
  }

  private onTake(buffered: number): void {
    if (!this.held && buffered <= BUFFER_LOW_WATER) this.setPausedState(false);
  }

  private setPausedState(paused: boolean): void {
    if (this.paused === paused || this.finished || !this.setPaused) return;
    this.paused = paused;
    this.setPaused(paused);
  }

  private ended(): void {
    this.finished = true;
    for (const fn of this.endListeners.splice(0)) fn();
  }

  /** Handles one native event; returns true once this request is over. */
  onNativeEvent(ev: NativeTokenEvent): boolean {
    if (this.finished) return true;
    if (ev.error) {
      this.fail(fromNativeError(ev.error));
      return true;
    }
    const ids = Array.from(ev.tokens);
    this.tokenIds.push(...ids);
    if (this.constrained && ev.constraint) {
      this.constrained.chunks.push(ev.constraint.bytes);
      // Once triggered it stays so (a rearmed constraint waits again after each value).
      if (ev.constraint.phase !== "waiting") this.constrained.triggered = true;
      this.constrained.complete = ev.constraint.accepting;
    }
    this.text += this.stops.push(this.decoder.push(ids));
    if (ev.done) this.text += this.stops.push(this.decoder.flush());

    if (this.stops.stopped) {
      if (!ev.done) this.cancelNative();
      this.finish(ids, "stop", ev.promptTokens || this.promptTokens, ev.logprobs);
      return true;
    }
    if (ev.done) {
      this.text += this.stops.flush();
      if (ev.finishReason === "cancelled") {
        this.fail(new WenxinError("ERR_WENXIN_ABORTED", "generation was cancelled"));
      } else {
        this.finish(
          ids,
          ev.finishReason === "length" ? "length" : "stop",
          ev.promptTokens || this.promptTokens,
          ev.logprobs,
        );
      }
      return true;
    }
    this.queue.push({
      type: "token",
      tokenIds: ids,
      text: this.take(this.text.length),
      ...(ev.logprobs && { logprobs: ev.logprobs }),
    });
    if (this.queue.size >= BUFFER_HIGH_WATER) this.setPausedState(true);
    return false;
  }

  /** Ends the stream with an error (abort, engine closed, a failed request). */
  fail(error: WenxinError): void {
    if (this.finished) return;
    this.queue.fail(error);
    this.ended();
  }

  private constraintOutcome(): ConstraintOutcome {
    const c = this.constrained!;
    return {
      triggered: c.triggered,
      text: Buffer.concat(c.chunks).toString("utf8"),
      complete: c.triggered && c.complete,
      ...(c.warnings.length > 0 ? { warnings: [...c.warnings] } : {}),
    };
  }

  private take(upTo: number): string {
    if (upTo <= this.emitted) return "";
    const piece = this.text.slice(this.emitted, upTo);
    this.emitted = upTo;
    return piece;
  }

  private finish(lastIds: number[], reason: FinishReason, promptTokens: number, logprobs?: TokenLogprob[]): void {
    const tail = this.take(this.text.length);
    if (lastIds.length > 0 || tail)
      this.queue.push({ type: "token", tokenIds: lastIds, text: tail, ...(logprobs && { logprobs }) });
    this.final = {
      type: "done",
      tokenIds: [...this.tokenIds],
      text: this.text,
      finishReason: reason,
      promptTokens,
      completionTokens: this.tokenIds.length,
      ...(this.constrained ? { constraint: this.constraintOutcome() } : {}),
    };
    this.queue.push(this.final);
    this.queue.end();
    this.ended();
  }
}
