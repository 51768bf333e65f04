import { ApiError } from "../errors.js";

/**
 * How many tokens a request may generate. Like OpenAI, a prompt plus `max_tokens` beyond the
 * context window is refused up front instead of being cut short silently.
 */
export function resolveMaxTokens(
  promptTokens: number,
  requested: number | null | undefined,
  fallback: number | undefined,
  maxContext: number,
  param = "max_tokens",
): number {
  if (promptTokens >= maxContext)
    throw new ApiError(
      400,
      "invalid_request_error",
      `This model's maximum context length is ${maxContext} tokens. However, your prompt has ${promptTokens} tokens, leaving none to generate.`,
      "context_length_exceeded",
      "messages",
    );
  const room = maxContext - promptTokens;
  if (requested == null) return fallback === undefined ? room : Math.min(fallback, room);
  if (requested > room)
    throw new ApiError(
      400,
      "invalid_request_error",
      `This model's maximum context length is ${maxContext} tokens. However, you requested ${promptTokens + requested} tokens (${promptTokens} in the prompt, ${requested} for the completion). Please reduce the prompt or ${param}.`,
      "context_length_exceeded",
      param,
    );
  return requested;
}
