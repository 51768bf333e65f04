// The engine's own direct output, to compare ChatWenxin against (same prompt, seed and options).
import { type ChatMessage, type Engine, type GenerationResult } from "@wenxin/engine";
import { CHAT_MARKUP_TOKENS } from "@wenxin/engine/internal";
import { expect } from "vitest";

export const SAMPLING = { temperature: 0.8, topP: 0.8, seed: 11 } as const;

/** Runs the engine directly on `input` (a conversation or raw prompt text). */
export async function direct(
  engine: Engine,
  input: ChatMessage[] | string,
  maxNewTokens: number,
  sampling: Record<string, unknown> = SAMPLING,
): Promise<GenerationResult> {
  const prompt = typeof input === "string" ? { prompt: input } : { messages: input };
  return engine.generate({ ...prompt, maxNewTokens, ...sampling }).result();
}

/**
 * The direct output's text is the chat reply only if the model emitted no chat markup (random
 * weights can emit any token); tests pick seeds for which this holds, and check it here.
 */
export function expectNoMarkup(engine: Engine, result: GenerationResult): void {
  const markup = new Set(CHAT_MARKUP_TOKENS.map((t) => engine.tokenizer.tokenToId(t)));
  expect(result.tokenIds.filter((id) => markup.has(id))).toEqual([]);
}
