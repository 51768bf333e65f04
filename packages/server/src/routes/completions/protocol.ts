/** /v1/completions (the legacy text API) on the wire. */
import { z } from "zod";

import type { CompletionLogprobs } from "../logprobs.js";
import { samplingFields } from "../sampling_protocol.js";
import type { Usage } from "../chat_completions/protocol.js";
import { textInputsSchema } from "../text_inputs.js";

export const completionRequestSchema = z.object({
  ...samplingFields,
  /** A text, a list of texts, a token-id list, or a list of token-id lists; prompts × n ≤ the server's concurrency. */
  prompt: textInputsSchema,
  /** OpenAI's default for this endpoint is 16. */
  max_tokens: z.number().int().min(1).nullish(),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  best_of: z.number().int().min(1).nullish(),
  /** Log-probabilities of the generated tokens and of the `logprobs` (0–5) likeliest alternatives at each. */
  logprobs: z.number().int().min(0).max(5).nullish(),
});
export type CompletionRequest = z.infer<typeof completionRequestSchema>;

export type CompletionFinishReason = "stop" | "length";

export interface CompletionChoice {
  index: number;
  text: string;
  logprobs: CompletionLogprobs | null;
  finish_reason: CompletionFinishReason | null;
}

export interface Completion {
  id: string;
  object: "text_completion";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: CompletionChoice[];
  usage?: Usage | null;
}
