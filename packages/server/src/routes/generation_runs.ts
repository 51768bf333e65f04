/**
 * The choices of one generation request (`n` engine streams), shared by /v1/chat/completions
 * and /v1/completions. Starting is separate from consuming, so a request the engine refuses
 * still gets its 4xx status before any SSE header goes out. A choice can end early (its output
 * is complete before the engine stops), and if one choice fails the others are cancelled: a
 * request never leaves sequences running on the engine.
 */
import type { Engine, GenerateOptions, GenerationResult, GenerationStream, TokenEvent } from "@wenxin/engine";

import type { RequestScope } from "../request_scope.js";

export interface ChoiceHandlers {
  /** Returns true when the choice's output is complete: its generation is stopped there. */
  onTokens(choice: number, event: TokenEvent): boolean | void;
  onDone(choice: number, result: GenerationResult): void;
  /** Awaited before each next engine event: a streaming answer waits here while its client lags. */
  writable?(): Promise<void>;
}

export type ChoiceOptions = (choice: number, signal: AbortSignal) => GenerateOptions & { inputIds: ArrayLike<number> };

interface Choice {
  stream: GenerationStream;
  cancel: AbortController;
  promptTokens: number;
}

export class ChoiceRun {
  private constructor(
    private readonly choices: Choice[],
    private readonly scope: RequestScope,
  ) {}

  /** Submits every choice to the engine; throws (cancelling any already started) if one is refused. */
  static start(engine: Engine, scope: RequestScope, count: number, optionsFor: ChoiceOptions): ChoiceRun {
    const choices: Choice[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const cancel = new AbortController();
        const options = optionsFor(i, AbortSignal.any([scope.signal, cancel.signal]));
        choices.push({ stream: engine.generate(options), cancel, promptTokens: options.inputIds.length });
      }
    } catch (err) {
      for (const c of choices) c.cancel.abort(err);
      throw err;
    }
    // A client that lags gets its choices paused in the engine at once, not after they have
    // filled the stream's buffer: their compute goes to the requests that take the freed slots.
    scope.onLag({
      pause: () => choices.forEach((c) => c.stream.pause()),
      resume: () => choices.forEach((c) => c.stream.resume()),
    });
    return new ChoiceRun(choices, scope);
  }

  /** Consumes every choice; resolves when all are done, rejects with the first failure. */
  async consume(handlers: ChoiceHandlers): Promise<GenerationResult[]> {
    const finished = this.choices.map(() => false);
    const done: ChoiceHandlers["onDone"] = (i, result) => {
      finished[i] = true;
      this.scope.onFinished(result.finishReason);
      handlers.onDone(i, result);
    };
    try {
      return await Promise.all(this.choices.map((c, i) => this.consumeOne(c, i, { ...handlers, onDone: done })));
    } catch (err) {
      for (const c of this.choices) c.cancel.abort(err);
      for (const f of finished) if (!f) this.scope.onFinished("abort");
      throw err;
    }
  }

  private async consumeOne(choice: Choice, index: number, handlers: ChoiceHandlers): Promise<GenerationResult> {
    const tokenIds: number[] = [];
    for await (const ev of choice.stream) {
      // A request whose client lagged has its output handled one piece per turn of the event loop.
      const turn = this.scope.handleNext();
      if (turn) await turn;
      if (ev.type === "done") {
        handlers.onDone(index, ev);
        return ev;
      }
      tokenIds.push(...ev.tokenIds);
      this.scope.onGenerated(ev.tokenIds.length, index);
      if (handlers.onTokens(index, ev) === true) {
        choice.cancel.abort();
        const result: GenerationResult = {
          type: "done",
          tokenIds,
          text: "",
          finishReason: "stop",
          promptTokens: choice.promptTokens,
          completionTokens: tokenIds.length,
        };
        handlers.onDone(index, result);
        return result;
      }
      // While this waits, the engine buffers this choice's events and pauses it past a limit.
      if (handlers.writable) await handlers.writable();
    }
    throw new Error("generation ended without a result");
  }
}
