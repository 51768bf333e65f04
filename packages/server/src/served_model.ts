/**
 * The one model a server serves: its id, its lifecycle (loading → ready → draining → closed,
 * or failed), the admission queue in front of its engine, and the requests in flight on it.
 * KV-cache use and the engine's own queue come from the engine's statistics.
 */
import type { ChatTemplate, Engine, EngineStats } from "@wenxin/engine";

import type { AdmissionQueue } from "./admission.js";
import { engineStats } from "./engine_stats.js";
import { clip, QUOTE_CHARS } from "./clip.js";
import { ApiError } from "./errors.js";

export type ModelState = "loading" | "ready" | "failed" | "draining" | "closed";

/** A request using the engine: what drain waits for and what it aborts past the deadline. */
export interface InFlightRequest {
  readonly controller: AbortController;
}

export class ServedModel {
  private currentState: ModelState = "loading";
  private loaded: Engine | undefined;
  private failure: unknown;
  private readonly inFlight = new Set<InFlightRequest>();
  private idleWaiters: (() => void)[] = [];
  private readonly closing = new AbortController();
  /** Resolves with the engine once loaded; rejects if loading fails. */
  readonly ready: Promise<Engine>;
  readonly created = Math.floor(Date.now() / 1000);

  constructor(
    readonly id: string,
    engine: Engine | Promise<Engine>,
    readonly admission: AdmissionQueue,
    private readonly owner: {
      /** Close the engine when the server stops (true when the server loaded it). */
      closeEngine: boolean;
      /** LoRA adapters loaded on the engine, each served under its own model name. */
      adapters?: readonly string[];
    } = { closeEngine: true },
  ) {
    this.ready = Promise.resolve(engine).then(
      (e) => {
        this.loaded = e;
        if (this.currentState === "loading") this.currentState = "ready";
        return e;
      },
      (err: unknown) => {
        this.failure = err;
        if (this.currentState === "loading") this.currentState = "failed";
        throw err;
      },
    );
    this.ready.catch(() => undefined); // observed through state; never an unhandled rejection
  }

  get state(): ModelState {
    return this.currentState;
  }

  /** Aborts once the model is closed (drained): work not yet admitted, a schema compile, stops there. */
  get closed(): AbortSignal {
    return this.closing.signal;
  }

  get loadError(): unknown {
    return this.failure;
  }

  get engine(): Engine | undefined {
    return this.loaded;
  }

  /** The adapters served under their own names (vLLM's LoRA modules). */
  get adapters(): readonly string[] {
    return this.owner.adapters ?? [];
  }

  /**
   * 404 unless `name` is this model's id or one of its adapters; returns the adapter a request
   * naming it generates with (undefined for the base model).
   */
  assertServes(name: string): string | undefined {
    if (name === this.id) return undefined;
    if (this.adapters.includes(name)) return name;
    const served = [this.id, ...this.adapters].map((n) => `'${n}'`).join(", ");
    throw new ApiError(
      404,
      "invalid_request_error",
      `The model '${clip(name, QUOTE_CHARS)}' does not exist; this server serves ${served}`,
      "model_not_found",
      "model",
    );
  }

  /** The engine, or 503 while loading, draining or after a failed load. */
  requireEngine(): Engine {
    if (this.currentState === "ready" && this.loaded) return this.loaded;
    const why: Record<Exclude<ModelState, "ready">, [string, string]> = {
      loading: ["the model is still loading; retry shortly", "model_loading"],
      failed: ["the model failed to load", "model_unavailable"],
      draining: ["the server is shutting down", "server_draining"],
      closed: ["the server is shutting down", "server_draining"],
    };
    const [message, code] = why[this.currentState === "ready" ? "loading" : this.currentState];
    throw new ApiError(503, "service_unavailable_error", message, code);
  }

  /** The engine's chat template, or 400 `no_chat_template` when the model takes raw text only. */
  requireChatTemplate(engine: Engine): ChatTemplate {
    if (engine.chatTemplate) return engine.chatTemplate;
    throw new ApiError(
      400,
      "invalid_request_error",
      `the model '${this.id}' has no chat template; use /v1/completions`,
      "no_chat_template",
    );
  }

  /** Registers a request on the engine; call the returned function when it is over. */
  begin(controller: AbortController): { request: InFlightRequest; end: () => void } {
    const request: InFlightRequest = { controller };
    this.inFlight.add(request);
    return {
      request,
      end: () => {
        if (!this.inFlight.delete(request)) return;
        if (this.inFlight.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      },
    };
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** The engine's scheduler statistics; undefined before it is loaded or when it has none. */
  engineStats(): EngineStats | undefined {
    return engineStats(this.loaded);
  }

  /**
   * Stops taking requests, waits up to `timeoutMs` for those in flight, aborts the rest,
   * then closes the engine if the server owns it.
   */
  async drain(timeoutMs: number): Promise<{ aborted: number }> {
    if (this.currentState === "closed") return { aborted: 0 };
    this.currentState = "draining";
    this.admission.rejectWaiting(
      new ApiError(503, "service_unavailable_error", "the server is shutting down", "server_draining"),
    );
    let aborted = 0;
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
      const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
      const finished = await Promise.race([idle, timeout]);
      clearTimeout(timer);
      if (!finished) {
        aborted = this.inFlight.size;
        for (const r of this.inFlight)
          r.controller.abort(
            new ApiError(503, "service_unavailable_error", "the server is shutting down", "server_draining"),
          );
        await idle;
      }
    }
    this.currentState = "closed";
    this.closing.abort(
      new ApiError(503, "service_unavailable_error", "the server is shutting down", "server_draining"),
    );
    if (!this.owner.closeEngine) return { aborted };
    if (this.loaded) await this.loaded.close();
    else
      void this.ready.then(
        (e) => e.close(),
        () => undefined,
      ); // still loading: close it when it arrives
    return { aborted };
  }
}
