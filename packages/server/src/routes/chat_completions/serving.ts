/**
 * /v1/chat/completions: request → prompt (the engine's chat layer renders tools, tool turns,
 * response_format and thinking) → one engine stream per choice → a chat.completion object, or
 * chat.completion.chunk events over SSE.
 */
import { randomUUID } from "node:crypto";

import type { Engine, GenerationResult, TokenEvent } from "@wenxin/engine";
import { buildChatPrompt, type ChatPrompt } from "@wenxin/engine/internal";
import type { FastifyReply, FastifyRequest } from "fastify";

import { AssistantMessageBuilder, AssistantTurn, type AssistantPiece } from "../../chat/assistant_output.js";
import { toChatMessages } from "../../chat/messages.js";
import { chatPromptOptions } from "../../chat/prompt_options.js";
import { badRequest } from "../../errors.js";
import { RequestScope } from "../../request_scope.js";
import type { ServingContext } from "../../serving_context.js";
import { openAiStream, type SseStream } from "../../sse.js";
import { ChoiceRun } from "../generation_runs.js";
import { compileOutputConstraint, warningsField } from "../output_constraint.js";
import { chatLogprobEntries, TokenSpelling, type ChatLogprobs, type ChatTokenLogprob } from "../logprobs.js";
import { encodeWithinContext } from "../prompt_length.js";
import { rejectUnsupportedSampling, stopStrings, toEngineSampling } from "../sampling_protocol.js";
import { resolveMaxTokens } from "../token_budget.js";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatDelta,
  ChatFinishReason,
  Usage,
} from "./protocol.js";

const ROUTE = "/v1/chat/completions";
const FINGERPRINT = "wenxin";

/** Everything decided before the engine is touched; any problem here is a 400 with no side effect. */
interface PreparedChat {
  prompt: ChatPrompt;
  promptIds: number[];
  maxNewTokens: number;
  choices: number;
  stop: string[];
  /** How many alternatives per token when `logprobs` is on; undefined when off. */
  topLogprobs: number | undefined;
}

export class ChatCompletionsServing {
  constructor(private readonly ctx: ServingContext) {}

  async handle(
    body: ChatCompletionRequest,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | ChatCompletion> {
    const adapter = this.ctx.model.assertServes(body.model);
    const engine = this.ctx.model.requireEngine();
    this.ctx.model.admission.assertFits(body.n ?? 1);
    const prepared = await this.prepare(engine, body);
    const warnings = await compileOutputConstraint(
      engine,
      prepared.prompt.constraint,
      this.ctx.options,
      this.ctx.model.closed,
    );
    const scope = new RequestScope(ROUTE, this.ctx, reply, request);
    const sse = body.stream ? openAiStream(reply, this.ctx.options.sseKeepAliveMs) : undefined;
    try {
      await scope.admit(prepared.choices, "n", () => sse?.open());
      scope.countPrompt(prepared.promptIds.length);
      const run = ChoiceRun.start(engine, scope, prepared.choices, (choice, signal) => ({
        ...(adapter !== undefined && { adapter }),
        // Stop strings are matched on the model's own text (markup included) by AssistantTurn.
        inputIds: prepared.promptIds,
        maxNewTokens: prepared.maxNewTokens,
        ...toEngineSampling(body, choice),
        ...(prepared.prompt.constraint && { constraint: prepared.prompt.constraint }),
        ...(prepared.topLogprobs !== undefined && { logprobs: prepared.topLogprobs }),
        signal,
      }));
      const outputs = Array.from(
        { length: prepared.choices },
        () => new AssistantTurn(engine.tokenizer, prepared.prompt, prepared.stop),
      );
      const logprobs =
        prepared.topLogprobs === undefined
          ? undefined
          : new ChoiceLogprobs(TokenSpelling.of(engine.tokenizer), prepared.choices);
      if (!sse) return await this.complete(run, outputs, logprobs, warnings);
      await this.stream(run, body, outputs, scope, sse, logprobs, warnings);
    } catch (err) {
      scope.fail(err, sse);
    } finally {
      scope.end();
    }
    return reply;
  }

  private async prepare(engine: Engine, body: ChatCompletionRequest): Promise<PreparedChat> {
    rejectUnsupportedSampling(body);
    const stop = stopStrings(body, this.ctx.options);
    if (body.top_logprobs != null && !body.logprobs)
      throw badRequest("'top_logprobs' requires 'logprobs' to be true", "top_logprobs");
    const template = this.ctx.model.requireChatTemplate(engine);
    const prompt = buildChatPrompt(template, toChatMessages(body.messages), chatPromptOptions(body));
    const promptIds = await encodeWithinContext(engine, prompt.text, "messages", this.ctx.model.closed);
    if (promptIds.length === 0) throw badRequest("the messages render to an empty prompt", "messages");
    const requested = body.max_completion_tokens ?? body.max_tokens;
    const maxNewTokens = resolveMaxTokens(
      promptIds.length,
      requested,
      this.ctx.options.defaultMaxTokens,
      engine.maxContext,
    );
    return {
      prompt,
      promptIds,
      maxNewTokens,
      choices: body.n ?? 1,
      stop,
      topLogprobs: body.logprobs ? (body.top_logprobs ?? 0) : undefined,
    };
  }

  private async complete(
    run: ChoiceRun,
    outputs: AssistantTurn[],
    logprobs: ChoiceLogprobs | undefined,
    warnings: string[],
  ): Promise<ChatCompletion> {
    const builders = outputs.map((o) => {
      const b = new AssistantMessageBuilder();
      b.add(o.start());
      return b;
    });
    const results = await run.consume({
      onTokens: (i, ev) => {
        logprobs?.add(i, ev);
        builders[i]!.add(outputs[i]!.push(ev.tokenIds));
        return outputs[i]!.done;
      },
      onDone: (i) => builders[i]!.add(outputs[i]!.end()),
    });
    return {
      id: completionId(),
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: this.ctx.model.id,
      system_fingerprint: FINGERPRINT,
      choices: results.map((r, i) => ({
        index: i,
        message: builders[i]!.message(),
        logprobs: logprobs?.take(i) ?? null,
        finish_reason: finishReason(r, builders[i]!.hasToolCalls),
      })),
      usage: usageOf(results),
      ...warningsField(warnings),
    };
  }

  private async stream(
    run: ChoiceRun,
    body: ChatCompletionRequest,
    outputs: AssistantTurn[],
    scope: RequestScope,
    sse: SseStream,
    logprobs: ChoiceLogprobs | undefined,
    warnings: string[],
  ): Promise<void> {
    const includeUsage = body.stream_options?.include_usage === true;
    const base = {
      id: completionId(),
      object: "chat.completion.chunk" as const,
      created: Math.floor(Date.now() / 1000),
      model: this.ctx.model.id,
      system_fingerprint: FINGERPRINT,
    };
    // Log-probabilities ride on the next chunk of their choice: tokens whose text is held back
    // (a partial character, a possible stop string, markup) are reported with the text they end up in.
    const chunk = (index: number, delta: ChatDelta, finish: ChatFinishReason | null): ChatCompletionChunk => ({
      ...base,
      choices: [{ index, delta, logprobs: logprobs?.take(index, true) ?? null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const sawToolCall = outputs.map(() => false);
    const emit = (i: number, pieces: AssistantPiece[]) => {
      if (pieces.some((p) => p.kind === "tool_call_start")) sawToolCall[i] = true;
      const delta = toDelta(pieces);
      if (delta) sse.send(chunk(i, delta, null));
    };
    outputs.forEach((o, i) => {
      sse.send({ ...chunk(i, { role: "assistant", content: "" }, null), ...(i === 0 && warningsField(warnings)) });
      emit(i, o.start());
    });
    const results = await run.consume({
      onTokens: (i, ev) => {
        logprobs?.add(i, ev);
        emit(i, outputs[i]!.push(ev.tokenIds));
        return outputs[i]!.done;
      },
      onDone: (i, result) => {
        emit(i, outputs[i]!.end());
        sse.send(chunk(i, {}, finishReason(result, sawToolCall[i]!)));
      },
      writable: () => scope.awaitClient(sse),
    });
    if (includeUsage) sse.send({ ...base, choices: [], usage: usageOf(results) });
    sse.done();
  }
}

/** Each choice's log-probability entries, collected as tokens arrive and handed out by `take`. */
class ChoiceLogprobs {
  private readonly pending: ChatTokenLogprob[][];

  constructor(
    private readonly spelling: TokenSpelling,
    choices: number,
  ) {
    this.pending = Array.from({ length: choices }, () => []);
  }

  add(choice: number, ev: TokenEvent): void {
    if (ev.logprobs) this.pending[choice]!.push(...chatLogprobEntries(this.spelling, ev.logprobs));
  }

  /** The entries collected for `choice` since the last call; `null` when there are none and `emptyAsNull`. */
  take(choice: number, emptyAsNull = false): ChatLogprobs | null {
    const content = this.pending[choice]!;
    if (content.length === 0 && emptyAsNull) return null;
    this.pending[choice] = [];
    return { content, refusal: null };
  }
}

function completionId(): string {
  return `chatcmpl-${randomUUID().replaceAll("-", "")}`;
}

function finishReason(result: GenerationResult, toolCalls: boolean): ChatFinishReason {
  if (toolCalls && result.finishReason === "stop") return "tool_calls";
  return result.finishReason;
}

function usageOf(results: GenerationResult[]): Usage {
  const prompt = results[0]?.promptTokens ?? 0;
  const completion = results.reduce((n, r) => n + r.completionTokens, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Folds one engine step's pieces into a single delta (undefined when there is nothing to send). */
export function toDelta(pieces: AssistantPiece[]): ChatDelta | undefined {
  const delta: ChatDelta = {};
  for (const p of pieces) {
    if (p.kind === "content") delta.content = (delta.content ?? "") + p.text;
    else if (p.kind === "reasoning") delta.reasoning_content = (delta.reasoning_content ?? "") + p.text;
    else {
      const calls = (delta.tool_calls ??= []);
      const last = calls[calls.length - 1];
      if (p.kind === "tool_call_start")
        calls.push({ index: p.index, id: p.id, type: "function", function: { name: p.name, arguments: "" } });
      else if (last && last.index === p.index) last.function.arguments += p.text;
      else calls.push({ index: p.index, function: { arguments: p.text } });
    }
  }
  if (!delta.content) delete delta.content;
  if (!delta.reasoning_content) delete delta.reasoning_content;
  return Object.keys(delta).length > 0 ? delta : undefined;
}
