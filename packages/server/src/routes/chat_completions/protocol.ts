/**
 * /v1/chat/completions on the wire: the request schema (zod; unknown fields are ignored, as
 * OpenAI-compatible servers do) and the response and chunk shapes.
 */
import { z } from "zod";

import type { ChatLogprobs } from "../logprobs.js";
import { samplingFields } from "../sampling_protocol.js";

const textPart = z.object({ type: z.literal("text"), text: z.string() });
/** Any other part type is accepted by the schema and refused with a clear message when converted. */
const otherPart = z.object({ type: z.string() }).passthrough();
export const contentSchema = z.union([z.string(), z.array(z.union([textPart, otherPart]))]);
export type MessageContent = z.infer<typeof contentSchema>;

const toolCallSchema = z.object({
  id: z.string(),
  type: z.literal("function").default("function"),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

export const messageSchema = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content: contentSchema, name: z.string().nullish() }),
  z.object({ role: z.literal("developer"), content: contentSchema, name: z.string().nullish() }),
  z.object({ role: z.literal("user"), content: contentSchema, name: z.string().nullish() }),
  z.object({
    role: z.literal("assistant"),
    content: contentSchema.nullish(),
    name: z.string().nullish(),
    tool_calls: z.array(toolCallSchema).nullish(),
    reasoning_content: z.string().nullish(),
    refusal: z.string().nullish(),
  }),
  z.object({ role: z.literal("tool"), content: contentSchema, tool_call_id: z.string() }),
  // Deprecated function-calling role, still sent by old clients.
  z.object({ role: z.literal("function"), content: contentSchema.nullish(), name: z.string() }),
]);
export type ChatCompletionMessage = z.infer<typeof messageSchema>;

const FUNCTION_NAME = /^[a-zA-Z0-9_.-]{1,64}$/;

export const toolSchema = z.object({
  type: z.literal("function"),
  function: z.object({
    name: z.string().regex(FUNCTION_NAME, "must be 1-64 letters, digits, '_', '.' or '-'"),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  }),
});
export type ChatTool = z.infer<typeof toolSchema>;

export const toolChoiceSchema = z.union([
  z.enum(["none", "auto", "required"]),
  z.object({ type: z.literal("function"), function: z.object({ name: z.string() }) }),
]);
export type ToolChoice = z.infer<typeof toolChoiceSchema>;

export const responseFormatSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    json_schema: z.object({
      name: z.string().max(64).nullish(),
      description: z.string().nullish(),
      schema: z.record(z.string(), z.unknown()).nullish(),
      strict: z.boolean().nullish(),
    }),
  }),
]);
export type ResponseFormat = z.infer<typeof responseFormatSchema>;

export const chatCompletionRequestSchema = z.object({
  ...samplingFields,
  messages: z.array(messageSchema).min(1, "must contain at least one message"),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  tools: z.array(toolSchema).max(128).nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: responseFormatSchema.nullish(),
  /** Per-token log-probabilities of the output; `top_logprobs` (0–20, needs `logprobs`) adds the likeliest alternatives. */
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  /** OpenAI's reasoning control: "none" turns thinking off, any other effort on. */
  reasoning_effort: z.enum(["none", "minimal", "low", "medium", "high"]).nullish(),
  /** vLLM's way to pass template variables; `enable_thinking` switches reasoning on or off. */
  chat_template_kwargs: z.object({ enable_thinking: z.boolean().nullish() }).passthrough().nullish(),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

export type ChatFinishReason = "stop" | "length" | "tool_calls";

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: {
    index: number;
    message: {
      role: "assistant";
      content: string | null;
      reasoning_content?: string;
      tool_calls?: ToolCall[];
      refusal: null;
    };
    logprobs: ChatLogprobs | null;
    finish_reason: ChatFinishReason;
  }[];
  usage: Usage;
  /** wenxin: the JSON schema keywords constrained generation relaxed (not enforced); absent when none. */
  warnings?: string[];
}

export interface ChatDelta {
  role?: "assistant";
  content?: string;
  reasoning_content?: string;
  tool_calls?: { index: number; id?: string; type?: "function"; function: { name?: string; arguments: string } }[];
}

export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: { index: number; delta: ChatDelta; logprobs: ChatLogprobs | null; finish_reason: ChatFinishReason | null }[];
  usage?: Usage | null;
  /** wenxin: on the first chunk, the JSON schema keywords constrained generation relaxed; absent when none. */
  warnings?: string[];
}
