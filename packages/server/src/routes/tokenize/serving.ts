/**
 * /tokenize and /detokenize (vLLM's): the token ids a prompt or a conversation becomes, exactly as
 * /v1/completions and /v1/chat/completions encode them, and the text ids decode to. Texts too long
 * for the context are refused before they are tokenized, as on the generation routes; long ones are
 * tokenized off the event loop.
 */
import { type Engine } from "@wenxin/engine";
import { buildChatPrompt } from "@wenxin/engine/internal";

import { badRequest } from "../../errors.js";
import type { ServingContext } from "../../serving_context.js";
import { toChatMessages } from "../../chat/messages.js";
import { promptOptions, toolDefinition } from "../../chat/prompt_options.js";
import { assertMayFitContext } from "../prompt_length.js";
import type { DetokenizeRequest, DetokenizeResponse, TokenizeRequest, TokenizeResponse } from "./protocol.js";

export class TokenizationServing {
  constructor(private readonly ctx: ServingContext) {}

  async tokenize(body: TokenizeRequest): Promise<TokenizeResponse> {
    const engine = this.engineFor(body.model);
    const text = "prompt" in body ? body.prompt : this.renderChat(engine, body);
    const param = "prompt" in body ? "prompt" : "messages";
    assertMayFitContext(engine, text, param);
    const addSpecial = body.add_special_tokens ?? "prompt" in body;
    const tokens = await engine.tokenizer.encodeAsync(text, { addSpecialTokens: addSpecial });
    return {
      count: tokens.length,
      max_model_len: engine.maxContext,
      tokens,
      token_strs: body.return_token_strs ? tokens.map((id) => engine.tokenizer.idToToken(id)) : null,
    };
  }

  detokenize(body: DetokenizeRequest): DetokenizeResponse {
    const engine = this.engineFor(body.model);
    if (body.tokens.length > engine.maxContext)
      throw badRequest(
        `'tokens' has ${body.tokens.length} ids, more than the context of ${engine.maxContext}`,
        "tokens",
      );
    const vocab = engine.config.hparams.vocabSize;
    const bad = body.tokens.findIndex((id) => id >= vocab);
    if (bad >= 0)
      throw badRequest(
        `tokens[${bad}] = ${body.tokens[bad]} is outside the vocabulary [0, ${vocab})`,
        `tokens[${bad}]`,
      );
    return { prompt: engine.tokenizer.decode(body.tokens) };
  }

  private engineFor(model: string | null | undefined): Engine {
    if (model != null) this.ctx.model.assertServes(model);
    return this.ctx.model.requireEngine();
  }

  /** The conversation as the chat route renders it (generation prompt and tools included), or without the generation prompt. */
  private renderChat(engine: Engine, body: Extract<TokenizeRequest, { messages: unknown }>): string {
    const template = this.ctx.model.requireChatTemplate(engine);
    const messages = toChatMessages(body.messages);
    if (body.add_generation_prompt === false) {
      if (body.tools?.length)
        throw badRequest("'tools' needs add_generation_prompt (tools shape the assistant turn)", "tools");
      return template.render(messages, { addGenerationPrompt: false });
    }
    return buildChatPrompt(
      template,
      messages,
      promptOptions({ tools: body.tools?.map((t) => toolDefinition(t.function)) }),
    ).text;
  }
}
