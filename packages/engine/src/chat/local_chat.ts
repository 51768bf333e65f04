/**
 * Chat turns on the in-process engine. Each turn is one `engine.generate` request, so concurrent
 * turns (LangChain's `batch`, the AI SDK's parallel calls, agents fanning out) are stepped
 * together by the engine's scheduler.
 * The prompt, constraint and output parsing come from the engine's chat-format layer.
 */
import path from "node:path";

import type { Engine, GenerateOptions } from "../engine.js";
import { WenxinError } from "../errors.js";
import { deltasOf, turnFinishReason, type ChatBackend, type ChatDelta, type ChatRequest } from "./chat_backend.js";
import { buildChatPrompt } from "./chat_prompt.js";
import type { ChatConstraint } from "./chat_types.js";
import { ChatTurnDecoder } from "./chat_turn_decoder.js";

export class LocalChatBackend implements ChatBackend {
  readonly modelName: string;

  /**
   * `adapter`: a LoRA adapter loaded on the engine (engine.loadAdapter), applied to every turn.
   * `modelName`: the name in each turn's metadata (default the checkpoint directory's name; a hub
   * repo id for a hub snapshot, whose directory is named by its commit).
   */
  constructor(
    readonly engine: Engine,
    readonly adapter?: string,
    modelName?: string,
  ) {
    this.modelName = modelName ?? path.basename(engine.dir);
  }

  get contextLength(): number {
    return this.engine.maxContext;
  }

  async *stream(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatDelta> {
    signal?.throwIfAborted();
    const template = this.engine.chatTemplate;
    if (!template)
      throw new WenxinError("ERR_WENXIN_CHAT_TEMPLATE", `${this.engine.dir} has no chat template, so it cannot chat`);
    const prompt = buildChatPrompt(template, request.messages, {
      tools: request.tools,
      ...(request.toolChoice !== undefined ? { toolChoice: request.toolChoice } : {}),
      ...(request.responseFormat !== undefined ? { responseFormat: request.responseFormat } : {}),
      ...(request.thinking !== undefined ? { thinking: request.thinking } : {}),
    });
    const inputIds = this.engine.tokenizer.encode(prompt.text);
    const constraint: ChatConstraint | undefined = prompt.constraint;
    // Compiled off the event loop; engine.generate takes it from there. Keywords the grammar relaxes.
    const warnings = constraint ? await this.engine.prepareConstraint(constraint) : [];

    // Our own controller: it also ends generation once the turn is complete or a stop string shows.
    const controller = new AbortController();
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", forward, { once: true });
    const { maxTokens, ...sampling } = request.sampling;
    const options = {
      inputIds,
      ...sampling,
      ...(maxTokens !== undefined ? { maxNewTokens: maxTokens } : {}),
      ...(constraint ? { constraint } : {}),
      ...(this.adapter !== undefined ? { adapter: this.adapter } : {}),
      signal: controller.signal,
    } as GenerateOptions;

    const turn = new ChatTurnDecoder(this.engine.tokenizer, {
      parser: prompt.parser,
      prefill: prompt.prefill,
      stop: request.stop,
    });
    let outputTokens = 0;
    let reasoningTokens = 0;
    let engineReason = "stop";
    let generationDone = false;

    try {
      yield* deltasOf(turn.start());
      // A prefill can be the whole turn (a forced call of a tool without arguments).
      const generation = turn.done ? [] : this.engine.generate(options);
      if (turn.done) generationDone = true;
      for await (const event of generation) {
        if (event.type === "done") {
          engineReason = event.finishReason;
          generationDone = true;
          break;
        }
        outputTokens += event.tokenIds.length;
        if (turn.inReasoning) reasoningTokens += event.tokenIds.length;
        yield* deltasOf(turn.push(event.tokenIds));
        if (turn.done) break;
      }
      yield* deltasOf(turn.end());
    } catch (err) {
      if (signal?.aborted)
        throw signal.reason instanceof Error
          ? signal.reason
          : new WenxinError("ERR_WENXIN_ABORTED", "the call was aborted", {}, { cause: err });
      throw err;
    } finally {
      signal?.removeEventListener("abort", forward);
      // Ends the native request when we stopped early (or the consumer did).
      if (!generationDone && !controller.signal.aborted) controller.abort();
    }

    const parsed = turn.result();
    yield {
      type: "end",
      turn: {
        ...parsed,
        finishReason: turnFinishReason(engineReason, parsed.toolCalls.length),
        usage: { inputTokens: inputIds.length, outputTokens, ...(reasoningTokens > 0 ? { reasoningTokens } : {}) },
        model: this.modelName,
        ...(warnings.length > 0 ? { warnings } : {}),
      },
    };
  }
}
