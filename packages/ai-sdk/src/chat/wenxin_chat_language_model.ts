/**
 * ERNIE 4.5 as an AI SDK LanguageModelV3: one chat turn per call on the in-process engine (every
 * concurrent call is a sequence of the engine's batch) or on a remote OpenAI-compatible server.
 * Prompt building, constraints and output parsing are the chat-format layer's, shared with
 * ChatWenxin and the HTTP server.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";

import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
  SharedV3ProviderMetadata,
  SharedV3Warning,
} from "@ai-sdk/provider";
import { convertAsyncIteratorToReadableStream } from "@ai-sdk/provider-utils";
import type { Engine } from "@wenxin/engine";
import {
  chatCompletionsBody,
  LocalChatBackend,
  RemoteChatBackend,
  type ChatBackend,
  type ChatDelta,
  type ChatRequest,
  type ChatTurn,
} from "@wenxin/engine/internal";

import type { ModelSource } from "../model_source.js";
import type { WenxinChatSettings } from "../wenxin_settings.js";
import { CallTimer, engineMetadata } from "./call_metadata.js";
import { prepareRequest, PROVIDER_KEY } from "./prepare_request.js";
import { contentOf, finishReasonOf, StreamPartWriter, usageOf } from "./turn_parts.js";

const NO_USAGE = {
  inputTokens: { total: undefined, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: undefined, text: undefined, reasoning: undefined },
};

export class WenxinChatLanguageModel implements LanguageModelV3 {
  readonly specificationVersion = "v3";
  readonly provider = "wenxin.chat";
  /** ERNIE 4.5 text models take no files: the SDK downloads nothing for them either. */
  readonly supportedUrls = {};

  constructor(
    readonly modelId: string,
    private readonly settings: WenxinChatSettings,
    private readonly source: ModelSource,
  ) {}

  /** The in-process engine this model runs on (local mode), loaded on first use. */
  engine(): Promise<Engine> {
    if (this.source.mode !== "local")
      throw new Error(`${this.modelId} runs on a remote server (baseURL): it has no local engine`);
    return this.source.engine();
  }

  async doGenerate(options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    const { request, warnings } = prepareRequest(options, this.settings, this.source.mode);
    const backend = await this.backend();
    const timer = new CallTimer();
    let turn: ChatTurn | undefined;
    for await (const delta of backend.stream(request, options.abortSignal)) {
      timer.saw(delta);
      if (delta.type === "end") turn = delta.turn;
    }
    return {
      content: contentOf(turn!),
      finishReason: finishReasonOf(turn!),
      usage: usageOf(turn!),
      providerMetadata: await this.metadata(turn!, timer),
      request: { body: this.requestBody(request) },
      response: { id: `chatcmpl-${randomUUID()}`, timestamp: new Date(), modelId: turn!.model },
      warnings,
    };
  }

  async doStream(options: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult> {
    const { request, warnings } = prepareRequest(options, this.settings, this.source.mode);
    const backend = await this.backend();
    const timer = new CallTimer();
    const deltas = backend.stream(request, options.abortSignal);
    // The first delta is awaited here, so that a refused request (a bad prompt, an HTTP error
    // status) rejects doStream, where the SDK reports and, for remote calls, retries it.
    const first = await deltas.next();
    return {
      stream: convertAsyncIteratorToReadableStream(
        this.parts(deltas, first, { warnings, timer, modelName: backend.modelName, signal: options.abortSignal }),
      ),
      request: { body: this.requestBody(request) },
    };
  }

  private async *parts(
    deltas: AsyncGenerator<ChatDelta>,
    first: IteratorResult<ChatDelta>,
    call: { warnings: SharedV3Warning[]; timer: CallTimer; modelName: string; signal: AbortSignal | undefined },
  ): AsyncGenerator<LanguageModelV3StreamPart> {
    const { timer, signal } = call;
    yield { type: "stream-start", warnings: call.warnings };
    yield { type: "response-metadata", id: `chatcmpl-${randomUUID()}`, timestamp: new Date(), modelId: call.modelName };
    const writer = new StreamPartWriter();
    try {
      for (let next = first; !next.done; next = await deltas.next()) {
        const delta = next.value;
        timer.saw(delta);
        if (delta.type === "end") {
          yield* writer.finish(delta.turn);
          yield {
            type: "finish",
            finishReason: finishReasonOf(delta.turn),
            usage: usageOf(delta.turn),
            providerMetadata: await this.metadata(delta.turn, timer),
          };
          return;
        }
        yield* writer.push(delta);
      }
    } catch (error) {
      if (signal?.aborted) throw error;
      yield { type: "error", error };
      yield { type: "finish", finishReason: { unified: "error", raw: undefined }, usage: NO_USAGE };
    } finally {
      // The consumer stopped early (cancel): ends the engine request or the HTTP stream.
      await deltas.return(undefined);
    }
  }

  private backend(): Promise<ChatBackend> {
    const source = this.source;
    if (source.mode === "remote") return Promise.resolve(new RemoteChatBackend(source.post, this.modelId));
    // A hub repo id names the model; its snapshot directory is named by a commit.
    return source
      .engine()
      .then(
        (engine) =>
          new LocalChatBackend(
            engine,
            undefined,
            path.resolve(this.modelId) === path.resolve(engine.dir) ? undefined : this.modelId,
          ),
      );
  }

  private requestBody(request: ChatRequest): unknown {
    return this.source.mode === "remote" ? chatCompletionsBody(this.modelId, request) : request;
  }

  private async metadata(turn: ChatTurn, timer: CallTimer): Promise<SharedV3ProviderMetadata> {
    const engine = this.source.mode === "local" ? await this.source.engine() : undefined;
    return {
      [PROVIDER_KEY]: { ...timer.metadata(turn.usage.outputTokens), ...(engine ? engineMetadata(engine) : {}) },
    };
  }
}
