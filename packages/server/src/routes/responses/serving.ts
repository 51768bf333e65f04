/**
 * /v1/responses: instructions + the stored conversation of `previous_response_id` + the input items
 * → a chat prompt (the engine's chat layer renders tools, tool turns, text.format and thinking) →
 * one engine stream → output items (reasoning, message, function calls), returned as a response
 * object or streamed as typed events (response.created … response.completed).
 */
import { type ChatMessage, type Engine, type GenerationResult } from "@wenxin/engine";
import { buildChatPrompt, type ChatPrompt } from "@wenxin/engine/internal";
import type { FastifyReply, FastifyRequest } from "fastify";

import { AssistantTurn } from "../../chat/assistant_output.js";
import { promptOptions, responseFormat, thinkingSwitch, toolDefinition } from "../../chat/prompt_options.js";
import { clip, QUOTE_CHARS } from "../../clip.js";
import { ApiError, unsupported, type ApiError as ApiErrorType } from "../../errors.js";
import { RequestScope } from "../../request_scope.js";
import type { ServingContext } from "../../serving_context.js";
import { SseStream } from "../../sse.js";
import { ChoiceRun } from "../generation_runs.js";
import { compileOutputConstraint, warningsField } from "../output_constraint.js";
import { encodeWithinContext } from "../prompt_length.js";
import { toEngineSampling } from "../sampling_protocol.js";
import { resolveMaxTokens } from "../token_budget.js";
import { inputMessages, outputTurn } from "./conversation.js";
import { itemId, ResponseOutputBuilder, type EventSink } from "./output_builder.js";
import type { FunctionTool, ResponseObject, ResponseRequest } from "./protocol.js";
import type { ResponseStore } from "./store.js";

const ROUTE = "/v1/responses";

interface PreparedResponse {
  /** The conversation before this response's own turn (instructions excluded). */
  conversation: ChatMessage[];
  prompt: ChatPrompt;
  promptIds: number[];
  maxNewTokens: number;
  tools: FunctionTool[];
}

export class ResponsesServing {
  constructor(
    private readonly ctx: ServingContext,
    private readonly store: ResponseStore,
  ) {}

  async create(
    body: ResponseRequest,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | ResponseObject> {
    const adapter = this.ctx.model.assertServes(body.model);
    const engine = this.ctx.model.requireEngine();
    const prepared = await this.prepare(engine, body);
    const warnings = await compileOutputConstraint(
      engine,
      prepared.prompt.constraint,
      this.ctx.options,
      this.ctx.model.closed,
    );
    const scope = new RequestScope(ROUTE, this.ctx, reply, request);
    const sse = body.stream ? new SseStream(reply, { keepAliveMs: this.ctx.options.sseKeepAliveMs }) : undefined;
    let sequence = 0;
    const emit: EventSink = (type, payload) => sse?.sendEvent(type, { type, sequence_number: sequence++, ...payload });
    const response = { ...this.initialResponse(body, prepared.tools), ...warningsField(warnings) };
    const builder = new ResponseOutputBuilder(emit);
    try {
      await scope.admit(1, null, () => sse?.open());
      scope.countPrompt(prepared.promptIds.length);
      const run = ChoiceRun.start(engine, scope, 1, (choice, signal) => ({
        ...(adapter !== undefined && { adapter }),
        inputIds: prepared.promptIds,
        maxNewTokens: prepared.maxNewTokens,
        ...toEngineSampling({ model: body.model, temperature: body.temperature, top_p: body.top_p }, choice),
        ...(prepared.prompt.constraint && { constraint: prepared.prompt.constraint }),
        signal,
      }));
      const output = new AssistantTurn(engine.tokenizer, prepared.prompt, []);
      emit("response.created", { response: structuredClone(response) });
      emit("response.in_progress", { response: structuredClone(response) });
      builder.add(output.start());
      const [result] = await run.consume({
        onTokens: (_i, ev) => {
          builder.add(output.push(ev.tokenIds));
          return output.done;
        },
        onDone: () => builder.add(output.end()),
        writable: sse ? () => scope.awaitClient(sse) : undefined,
      });
      this.complete(response, builder, result!);
      if (body.store !== false)
        this.store.put({ response, conversation: [...prepared.conversation, outputTurn(response.output)] });
      emit(response.status === "completed" ? "response.completed" : "response.incomplete", { response });
      if (!sse) return response;
      sse.done();
    } catch (err) {
      scope.fail(err, sse, (error) => this.failStream(response, error, emit, sse!));
    } finally {
      scope.end();
    }
    return reply;
  }

  /** GET /v1/responses/:id */
  retrieve(id: string): ResponseObject {
    return this.stored(id).response;
  }

  /** DELETE /v1/responses/:id */
  delete(id: string): { id: string; object: "response"; deleted: true } {
    this.stored(id);
    this.store.delete(id);
    return { id, object: "response", deleted: true };
  }

  private stored(id: string, param: string | null = null) {
    const entry = this.store.get(id);
    if (!entry)
      throw new ApiError(
        404,
        "invalid_request_error",
        `No response with id '${clip(id, QUOTE_CHARS)}' is stored (responses are kept in memory, the most recent ${this.store.capacity})`,
        "response_not_found",
        param,
      );
    return entry;
  }

  private async prepare(engine: Engine, body: ResponseRequest): Promise<PreparedResponse> {
    if (body.background) throw unsupported("background", "background responses");
    if (body.conversation != null) throw unsupported("conversation", "conversation objects (use previous_response_id)");
    if (body.top_logprobs)
      throw unsupported("top_logprobs", "log-probabilities on /v1/responses (use /v1/chat/completions)");
    const template = this.ctx.model.requireChatTemplate(engine);
    const tools = (body.tools ?? []).map((t, i) => {
      if (t.type !== "function") throw unsupported(`tools[${i}].type`, `a tool of type '${clip(t.type, QUOTE_CHARS)}'`);
      return t as FunctionTool;
    });
    const choice = body.tool_choice;
    if (choice != null && typeof choice !== "string" && choice.type !== "function")
      throw unsupported("tool_choice", `tool_choice of type '${clip(choice.type, QUOTE_CHARS)}'`);
    const history = body.previous_response_id
      ? this.stored(body.previous_response_id, "previous_response_id").conversation
      : [];
    const conversation = [...history, ...inputMessages(body.input)];
    if (conversation.length === 0)
      throw new ApiError(400, "invalid_request_error", "'input' is required", "missing_required_parameter", "input");
    const instructions: ChatMessage[] = body.instructions ? [{ role: "system", content: body.instructions }] : [];
    const format = body.text?.format;
    const prompt = buildChatPrompt(
      template,
      [...instructions, ...conversation],
      promptOptions({
        tools: tools.map(toolDefinition),
        toolChoice:
          choice == null
            ? undefined
            : typeof choice === "string"
              ? choice
              : { name: (choice as { name: string }).name },
        responseFormat: format == null ? undefined : responseFormat(format),
        thinking: thinkingSwitch(undefined, body.reasoning?.effort),
      }),
    );
    const promptIds = await encodeWithinContext(engine, prompt.text, "input", this.ctx.model.closed);
    const maxNewTokens = resolveMaxTokens(
      promptIds.length,
      body.max_output_tokens,
      this.ctx.options.defaultMaxTokens,
      engine.maxContext,
      "max_output_tokens",
    );
    return { conversation, prompt, promptIds, maxNewTokens, tools };
  }

  private initialResponse(body: ResponseRequest, tools: FunctionTool[]): ResponseObject {
    return {
      id: itemId("resp"),
      object: "response",
      created_at: Math.floor(Date.now() / 1000),
      status: "in_progress",
      model: this.ctx.model.id,
      output: [],
      error: null,
      incomplete_details: null,
      instructions: body.instructions ?? null,
      max_output_tokens: body.max_output_tokens ?? null,
      metadata: body.metadata ?? {},
      parallel_tool_calls: body.parallel_tool_calls ?? true,
      previous_response_id: body.previous_response_id ?? null,
      reasoning: body.reasoning ? { effort: body.reasoning.effort ?? null } : null,
      store: body.store !== false,
      temperature: body.temperature ?? null,
      text: { format: body.text?.format ?? { type: "text" } },
      tool_choice: body.tool_choice ?? "auto",
      tools,
      top_p: body.top_p ?? null,
      truncation: body.truncation ?? "disabled",
      usage: null,
      user: body.user ?? null,
    };
  }

  private complete(response: ResponseObject, builder: ResponseOutputBuilder, result: GenerationResult): void {
    const cut = result.finishReason === "length";
    builder.finish(cut ? "incomplete" : "completed");
    response.status = cut ? "incomplete" : "completed";
    response.incomplete_details = cut ? { reason: "max_output_tokens" } : null;
    response.output = builder.items;
    response.usage = {
      input_tokens: result.promptTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: result.completionTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: result.promptTokens + result.completionTokens,
    };
  }

  /** A stream that fails after it started ends with `response.failed`, as OpenAI's do. */
  private failStream(response: ResponseObject, error: ApiErrorType, emit: EventSink, sse: SseStream): void {
    response.status = "failed";
    response.error = { code: error.code ?? "server_error", message: error.message };
    emit("response.failed", { response });
    sse.done();
  }
}
