// What the engine itself produces for a chat request, through the same public chat layer the
// server uses: the reference the server's answers are compared with.
import { type ChatMessage, type Engine, type SamplingOptions } from "@wenxin/engine";
import { z } from "zod";
import { buildChatPrompt, ChatOutputParser, ChatTokenDecoder, type ChatPromptOptions } from "@wenxin/engine/internal";

/** The JSON schema the constrained-output tests ask for, and the zod schema an answer must satisfy. */
export const PERSON_SCHEMA = {
  type: "object",
  properties: { name: { type: "string" }, age: { type: "integer" } },
  required: ["name", "age"],
  additionalProperties: false,
};
export const person = z.object({ name: z.string(), age: z.number().int() });

export interface ExpectedChat {
  content: string;
  reasoning: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: "stop" | "length";
}

export function chatPromptIds(engine: Engine, messages: ChatMessage[], options: ChatPromptOptions = {}): number[] {
  return engine.tokenizer.encode(buildChatPrompt(engine.chatTemplate!, messages, options).text);
}

export async function expectedChat(
  engine: Engine,
  messages: ChatMessage[],
  sampling: SamplingOptions & { maxNewTokens: number },
  options: ChatPromptOptions = {},
): Promise<ExpectedChat> {
  const prompt = buildChatPrompt(engine.chatTemplate!, messages, options);
  const inputIds = engine.tokenizer.encode(prompt.text);
  const result = await engine.generate({ inputIds, ...sampling }).result();
  const decoder = new ChatTokenDecoder(engine.tokenizer);
  const parser = new ChatOutputParser(prompt.parser);
  parser.push(prompt.prefill);
  parser.push(decoder.push(result.tokenIds) + decoder.flush());
  parser.finish();
  const out = parser.result();
  return {
    content: out.content,
    reasoning: out.reasoning,
    promptTokens: inputIds.length,
    completionTokens: result.completionTokens,
    finishReason: result.finishReason,
  };
}
