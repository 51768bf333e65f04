/**
 * /v1/completions: one or more prompts (text or token ids) × `n` choices each, continued as raw
 * text (no chat template). Choice `k` of prompt `p` has index `p * n + k`, as in OpenAI.
 */
import { randomUUID } from "node:crypto";

import type { Engine, GenerationResult } from "@wenxin/engine";
import type { FastifyReply, FastifyRequest } from "fastify";

import { badRequest, unsupported } from "../../errors.js";
import { RequestScope } from "../../request_scope.js";
import type { ServingContext } from "../../serving_context.js";
import { openAiStream } from "../../sse.js";
import type { Usage } from "../chat_completions/protocol.js";
import { ChoiceRun } from "../generation_runs.js";
import { CompletionChoicesLogprobs, TokenSpelling } from "../logprobs.js";
import { encodeWithinContext } from "../prompt_length.js";
import { textInputList } from "../text_inputs.js";
import { rejectUnsupportedSampling, stopStrings, toEngineSampling } from "../sampling_protocol.js";
import { resolveMaxTokens } from "../token_budget.js";
import type { Completion, CompletionRequest } from "./protocol.js";

const ROUTE = "/v1/completions";
const DEFAULT_MAX_TOKENS = 16;

interface PreparedPrompt {
  ids: number[];
  /** The prompt as text, for `echo`. */
  text: string;
  maxNewTokens: number;
}

export class CompletionsServing {
  constructor(private readonly ctx: ServingContext) {}

  async handle(
    body: CompletionRequest,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | Completion> {
    const adapter = this.ctx.model.assertServes(body.model);
    const engine = this.ctx.model.requireEngine();
    const list = textInputList(body.prompt);
    const n = body.n ?? 1;
    // The cheap checks first: sequences and stop strings before any prompt is tokenized.
    const sequencesParam = list.length > 1 ? "prompt" : "n";
    this.ctx.model.admission.assertFits(list.length * n, sequencesParam);
    const stop = stopStrings(body, this.ctx.options);
    const prompts = await this.prepare(engine, body, list);
    const scope = new RequestScope(ROUTE, this.ctx, reply, request);
    const sse = body.stream ? openAiStream(reply, this.ctx.options.sseKeepAliveMs) : undefined;
    try {
      await scope.admit(prompts.length * n, sequencesParam, () => sse?.open());
      scope.countPrompt(prompts.reduce((sum, p) => sum + p.ids.length, 0));
      const run = ChoiceRun.start(engine, scope, prompts.length * n, (i, signal) => ({
        ...(adapter !== undefined && { adapter }),
        inputIds: prompts[Math.floor(i / n)]!.ids,
        maxNewTokens: prompts[Math.floor(i / n)]!.maxNewTokens,
        ...toEngineSampling(body, i % n),
        stop,
        ...(body.logprobs != null && { logprobs: body.logprobs }),
        signal,
      }));
      const logprobs =
        body.logprobs == null
          ? undefined
          : new CompletionChoicesLogprobs(TokenSpelling.of(engine.tokenizer), body.logprobs, prompts.length * n);
      const echo = (i: number) => (body.echo ? prompts[Math.floor(i / n)]!.text : "");
      const base = {
        id: `cmpl-${randomUUID().replaceAll("-", "")}`,
        object: "text_completion" as const,
        created: Math.floor(Date.now() / 1000),
        model: this.ctx.model.id,
        system_fingerprint: "wenxin",
      };
      const usage = (results: GenerationResult[]): Usage => {
        const prompt = prompts.reduce((sum, p) => sum + p.ids.length, 0);
        const completion = results.reduce((sum, r) => sum + r.completionTokens, 0);
        return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
      };

      if (!sse) {
        const texts = new Array<string>(prompts.length * n).fill("");
        const results = await run.consume({
          onTokens: (i, ev) => {
            logprobs?.add(i, ev);
            texts[i] += ev.text;
          },
          onDone: () => undefined,
        });
        return {
          ...base,
          choices: results.map((r, i) => ({
            index: i,
            text: echo(i) + texts[i],
            logprobs: logprobs?.take(i) ?? null,
            finish_reason: r.finishReason,
          })),
          usage: usage(results),
        };
      }

      const includeUsage = body.stream_options?.include_usage === true;
      const chunk = (index: number, text: string, finish: GenerationResult["finishReason"] | null): Completion => ({
        ...base,
        choices: [{ index, text, logprobs: logprobs?.take(index) ?? null, finish_reason: finish }],
        ...(includeUsage ? { usage: null } : {}),
      });
      if (body.echo) for (let i = 0; i < prompts.length * n; i++) sse.send(chunk(i, echo(i), null));
      const results = await run.consume({
        onTokens: (i, ev) => {
          logprobs?.add(i, ev);
          if (ev.text) sse.send(chunk(i, ev.text, null));
        },
        onDone: (i, r) => sse.send(chunk(i, "", r.finishReason)),
        writable: () => scope.awaitClient(sse),
      });
      if (includeUsage) sse.send({ ...base, choices: [], usage: usage(results) });
      sse.done();
    } catch (err) {
      scope.fail(err, sse);
    } finally {
      scope.end();
    }
    return reply;
  }

  private async prepare(
    engine: Engine,
    body: CompletionRequest,
    list: (string | number[])[],
  ): Promise<PreparedPrompt[]> {
    rejectUnsupportedSampling(body);
    if (body.logprobs != null && body.echo)
      throw unsupported("echo", "echo together with logprobs (log-probabilities of the prompt)");
    if (body.suffix) throw unsupported("suffix", "suffix (fill-in-the-middle)");
    if (body.best_of != null && body.best_of !== (body.n ?? 1))
      throw unsupported("best_of", "best_of different from n");
    const vocab = engine.config.hparams.vocabSize;
    const prepared: PreparedPrompt[] = [];
    for (const [k, p] of list.entries()) {
      const ids = typeof p === "string" ? await encodeWithinContext(engine, p, "prompt", this.ctx.model.closed) : p;
      if (ids.length === 0) throw badRequest(`prompt ${k} is empty`, "prompt");
      const bad = ids.find((id) => id >= vocab);
      if (bad !== undefined)
        throw badRequest(`prompt ${k} holds token id ${bad}, outside the vocabulary [0, ${vocab})`, "prompt");
      const text = typeof p === "string" ? p : engine.tokenizer.decode(ids);
      prepared.push({
        ids,
        text,
        maxNewTokens: resolveMaxTokens(ids.length, body.max_tokens, DEFAULT_MAX_TOKENS, engine.maxContext),
      });
    }
    return prepared;
  }
}
