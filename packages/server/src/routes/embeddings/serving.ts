/**
 * /v1/embeddings: the engine's sentence embeddings (final-norm hidden states, mean-pooled and
 * L2-normalised), as float arrays or base64 of little-endian float32, as OpenAI sends them.
 * Token-id inputs are decoded to text first (the engine embeds text).
 */
import type { Engine } from "@wenxin/engine";
import type { FastifyReply, FastifyRequest } from "fastify";

import { badRequest, unsupported } from "../../errors.js";
import { RequestScope } from "../../request_scope.js";
import type { ServingContext } from "../../serving_context.js";
import { assertMayFitContext, maxCharsOf, whileOpen } from "../prompt_length.js";
import { textInputList } from "../text_inputs.js";
import type { EmbeddingList, EmbeddingRequest } from "./protocol.js";

const ROUTE = "/v1/embeddings";

export class EmbeddingsServing {
  constructor(private readonly ctx: ServingContext) {}

  async handle(body: EmbeddingRequest, request: FastifyRequest, reply: FastifyReply): Promise<EmbeddingList> {
    if (this.ctx.model.assertServes(body.model) !== undefined)
      throw badRequest(
        `'${body.model}' is a LoRA adapter; embeddings come from the base model '${this.ctx.model.id}'`,
        "model",
      );
    const engine = this.ctx.model.requireEngine();
    const hidden = engine.config.hparams.hiddenSize;
    if (body.dimensions != null && body.dimensions !== hidden)
      throw unsupported("dimensions", `dimensions other than the model's ${hidden}`);
    const texts = this.texts(engine, body.input);
    const { ids, tokens: promptTokens } = await this.encode(engine, texts);
    const scope = new RequestScope(ROUTE, this.ctx, reply, request);
    // The engine runs each input as a sequence, like a prompt: the request counts that many, up to
    // all of them (a longer list then has the server to itself while it runs, and is not refused).
    await scope.admit(Math.min(texts.length, this.ctx.model.admission.maxConcurrency), "input");
    try {
      scope.countPrompt(promptTokens);
      const vectors = await engine.embed(ids, { signal: scope.signal });
      const base64 = body.encoding_format === "base64";
      return {
        object: "list",
        data: vectors.map((v, index) => ({
          object: "embedding",
          index,
          embedding: base64 ? toBase64(v) : Array.from(v),
        })),
        model: this.ctx.model.id,
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      };
    } catch (err) {
      throw scope.failure(err);
    } finally {
      scope.end();
    }
  }

  private texts(engine: Engine, input: EmbeddingRequest["input"]): string[] {
    const list = textInputList(input);
    const { maxEmbeddingInputs } = this.ctx.options;
    if (list.length > maxEmbeddingInputs)
      throw badRequest(`'input' has ${list.length} items; this server takes at most ${maxEmbeddingInputs}`, "input");
    const vocab = engine.config.hparams.vocabSize;
    return list.map((item, i) => {
      if (typeof item === "string") {
        if (item.length === 0) throw badRequest(`input[${i}] is empty`, "input");
        assertMayFitContext(engine, item, `input[${i}]`);
        return item;
      }
      const bad = item.find((id) => id >= vocab);
      if (bad !== undefined)
        throw badRequest(`input[${i}] holds token id ${bad}, outside the vocabulary [0, ${vocab})`, "input");
      if (item.length > engine.maxContext)
        throw badRequest(
          `input[${i}] has ${item.length} tokens, more than the context of ${engine.maxContext}`,
          "input",
        );
      return engine.tokenizer.decode(item);
    });
  }

  /**
   * The inputs' token ids, within the per-request limit. Texts too long for the limit are refused
   * on their length first; tokenizing stops at the first input past it, and runs on the
   * tokenizer's worker thread when the texts are long (up to the limit it takes hundreds of
   * milliseconds), not on the event loop. The engine embeds these ids: nothing is tokenized twice.
   */
  private async encode(engine: Engine, texts: string[]): Promise<{ ids: number[][]; tokens: number }> {
    const limit = this.ctx.options.maxEmbeddingTokens;
    const tooMany = (what: string) =>
      badRequest(`'input' has ${what}; this server embeds at most ${limit} tokens per request`, "input");
    const chars = texts.reduce((sum, t) => sum + t.length, 0);
    if (chars > maxCharsOf(engine, limit)) throw tooMany(`${chars} characters`);
    const closed = this.ctx.model.closed;
    const encoded = await whileOpen(closed, () => engine.tokenizer.encodeAllAsync(texts, { limit, signal: closed }));
    if (encoded.tokens > limit) throw tooMany(`more than ${limit} tokens`);
    return encoded;
  }
}

/** Little-endian float32 bytes in base64, whatever the host's byte order. */
function toBase64(v: Float32Array): string {
  const bytes = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) bytes.writeFloatLE(v[i]!, i * 4);
  return bytes.toString("base64");
}
