/**
 * /v1/responses on the wire (OpenAI's Responses API, as the openai client and the Agents SDK send
 * it): the request schema (zod; unknown fields ignored, unsupported ones refused with a clear 400
 * by the serving code), the response object, its output items and the typed stream events.
 */
import { z } from "zod";

const FUNCTION_NAME = /^[a-zA-Z0-9_.-]{1,64}$/;

const inputText = z.object({ type: z.literal("input_text"), text: z.string() });
const outputText = z.object({ type: z.literal("output_text"), text: z.string() }).passthrough();
/** Images, files, audio…: accepted by the schema, refused with a clear message when converted. */
const otherPart = z.object({ type: z.string() }).passthrough();
export const itemContentSchema = z.union([z.string(), z.array(z.union([inputText, outputText, otherPart]))]);
export type ItemContent = z.infer<typeof itemContentSchema>;

const messageItem = z
  .object({
    type: z.literal("message"),
    role: z.enum(["user", "assistant", "system", "developer"]),
    content: itemContentSchema,
  })
  .passthrough();

const functionCallItem = z
  .object({
    type: z.literal("function_call"),
    call_id: z.string().min(1),
    name: z.string().min(1),
    arguments: z.string(),
  })
  .passthrough();

const functionCallOutputItem = z
  .object({
    type: z.literal("function_call_output"),
    call_id: z.string().min(1),
    output: itemContentSchema,
  })
  .passthrough();

const reasoningItem = z
  .object({
    type: z.literal("reasoning"),
    content: z.array(z.object({ type: z.string(), text: z.string() }).passthrough()).nullish(),
  })
  .passthrough();

const ITEM_TYPES = ["message", "function_call", "function_call_output", "reasoning"] as const;

/** An input item; a message may leave out its `type` (the "easy" form `{role, content}`). */
export const inputItemSchema = z.preprocess(
  (v) => (v && typeof v === "object" && !("type" in v) && "role" in v ? { ...v, type: "message" } : v),
  z.discriminatedUnion("type", [messageItem, functionCallItem, functionCallOutputItem, reasoningItem], {
    error: (issue) =>
      issue.code === "invalid_union"
        ? `input items of this type are not supported (only ${ITEM_TYPES.join(", ")})`
        : undefined,
  }),
);
export type InputItem = z.infer<typeof inputItemSchema>;

const functionTool = z.object({
  type: z.literal("function"),
  name: z.string().regex(FUNCTION_NAME, "must be 1-64 letters, digits, '_', '.' or '-'"),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});
export type FunctionTool = z.infer<typeof functionTool>;
/** web_search, file_search, mcp…: refused by name. */
const otherTool = z.object({ type: z.string() }).passthrough();

const toolChoiceSchema = z.union([
  z.enum(["none", "auto", "required"]),
  z.object({ type: z.literal("function"), name: z.string() }),
  z.object({ type: z.string() }).passthrough(),
]);

const formatSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    name: z.string().max(64).nullish(),
    description: z.string().nullish(),
    schema: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  }),
]);

export const responseRequestSchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(inputItemSchema)]).optional(),
  instructions: z.string().nullish(),
  stream: z.boolean().nullish(),
  max_output_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  tools: z
    .array(z.union([functionTool, otherTool]))
    .max(128)
    .nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.object({ format: formatSchema.nullish() }).passthrough().nullish(),
  reasoning: z.object({ effort: z.string().nullish() }).passthrough().nullish(),
  previous_response_id: z.string().nullish(),
  store: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().nullish(),
  truncation: z.enum(["auto", "disabled"]).nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  background: z.boolean().nullish(),
  conversation: z.unknown().optional(),
});
export type ResponseRequest = z.infer<typeof responseRequestSchema>;

export interface OutputTextPart {
  type: "output_text";
  text: string;
  annotations: never[];
}

export interface ReasoningTextPart {
  type: "reasoning_text";
  text: string;
}

export type ItemStatus = "in_progress" | "completed" | "incomplete";

export interface MessageItem {
  type: "message";
  id: string;
  status: ItemStatus;
  role: "assistant";
  content: OutputTextPart[];
}

export interface ReasoningItem {
  type: "reasoning";
  id: string;
  status: ItemStatus;
  summary: never[];
  content: ReasoningTextPart[];
}

export interface FunctionCallItem {
  type: "function_call";
  id: string;
  status: ItemStatus;
  call_id: string;
  name: string;
  arguments: string;
}

export type OutputItem = MessageItem | ReasoningItem | FunctionCallItem;

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

export interface ResponseObject {
  id: string;
  object: "response";
  created_at: number;
  status: ResponseStatus;
  model: string;
  output: OutputItem[];
  error: { code: string; message: string } | null;
  incomplete_details: { reason: "max_output_tokens" } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  metadata: Record<string, string>;
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: string | null } | null;
  store: boolean;
  temperature: number | null;
  text: { format: { type: string } & Record<string, unknown> };
  tool_choice: unknown;
  tools: FunctionTool[];
  top_p: number | null;
  truncation: "auto" | "disabled";
  usage: ResponseUsage | null;
  user: string | null;
  /** wenxin: the JSON schema keywords constrained generation relaxed (not enforced); absent when none. */
  warnings?: string[];
}
