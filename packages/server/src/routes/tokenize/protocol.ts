/** /tokenize and /detokenize on the wire, in vLLM's shapes (its serving_tokenization). */
import { z } from "zod";

import { messageSchema, toolSchema } from "../chat_completions/protocol.js";

const common = {
  /** Optional, as in vLLM; when given it must name the served model. */
  model: z.string().min(1).nullish(),
  /** The tokens' text pieces too (`token_strs`). */
  return_token_strs: z.boolean().nullish(),
};

/** A prompt as /v1/completions takes it (special tokens added by default, as vLLM does). */
const tokenizePromptSchema = z.object({
  ...common,
  prompt: z.string(),
  add_special_tokens: z.boolean().nullish(),
});

/** A conversation as /v1/chat/completions renders it. */
const tokenizeChatSchema = z.object({
  ...common,
  messages: z.array(messageSchema).min(1, "must contain at least one message"),
  tools: z.array(toolSchema).max(128).nullish(),
  add_generation_prompt: z.boolean().nullish(),
  add_special_tokens: z.boolean().nullish(),
});

export const tokenizeRequestSchema = z.union([tokenizePromptSchema, tokenizeChatSchema]);
export type TokenizeRequest = z.infer<typeof tokenizeRequestSchema>;

export interface TokenizeResponse {
  count: number;
  max_model_len: number;
  tokens: number[];
  token_strs: string[] | null;
}

export const detokenizeRequestSchema = z.object({
  model: z.string().min(1).nullish(),
  tokens: z.array(z.number().int().min(0)),
});
export type DetokenizeRequest = z.infer<typeof detokenizeRequestSchema>;

export interface DetokenizeResponse {
  prompt: string;
}
