/**
 * The chat layer's prompt options (tools, tool_choice, response format, thinking) from what the
 * OpenAI APIs send: /v1/chat/completions nests a function under `function` and calls the format
 * `response_format`, /v1/responses flattens the function and calls it `text.format`; both end here.
 */
import type {
  ChatPromptOptions,
  ResponseFormat as EngineResponseFormat,
  ToolChoiceOption,
  ToolDefinition,
} from "@wenxin/engine/internal";

import type { ChatCompletionRequest } from "../routes/chat_completions/protocol.js";

/** A function tool as both APIs describe it. */
export interface FunctionSpec {
  name: string;
  description?: string | null;
  parameters?: Record<string, unknown> | null;
  strict?: boolean | null;
}

/** A structured-output request as both APIs describe it. */
export type FormatSpec =
  | { type: "text" }
  | { type: "json_object" }
  | {
      type: "json_schema";
      name?: string | null;
      description?: string | null;
      schema?: Record<string, unknown> | null;
      strict?: boolean | null;
    };

export function toolDefinition(f: FunctionSpec): ToolDefinition {
  return {
    type: "function",
    function: {
      name: f.name,
      ...(f.description != null ? { description: f.description } : {}),
      ...(f.parameters != null ? { parameters: f.parameters } : {}),
      ...(f.strict != null ? { strict: f.strict } : {}),
    },
  };
}

export function responseFormat(f: FormatSpec): EngineResponseFormat {
  if (f.type !== "json_schema") return f;
  return {
    type: "json_schema",
    json_schema: {
      // A missing schema is refused by the chat layer with a message that says so.
      schema: f.schema ?? (undefined as unknown as Record<string, unknown>),
      ...(f.name != null ? { name: f.name } : {}),
      ...(f.description != null ? { description: f.description } : {}),
      ...(f.strict != null ? { strict: f.strict } : {}),
    },
  };
}

/** Thinking on or off from an explicit switch, else from OpenAI's reasoning effort ("none" = off). */
export function thinkingSwitch(
  explicit: boolean | null | undefined,
  effort: string | null | undefined,
): boolean | undefined {
  if (explicit != null) return explicit;
  if (effort != null) return effort !== "none";
  return undefined;
}

/** Collects the options that are set (the chat layer treats a missing key as "default"). */
export function promptOptions(parts: {
  tools?: ToolDefinition[] | undefined;
  toolChoice?: ToolChoiceOption | undefined;
  responseFormat?: EngineResponseFormat | undefined;
  thinking?: boolean | undefined;
}): ChatPromptOptions {
  const out: ChatPromptOptions = {};
  if (parts.tools?.length) out.tools = parts.tools;
  if (parts.toolChoice !== undefined) out.toolChoice = parts.toolChoice;
  if (parts.responseFormat !== undefined) out.responseFormat = parts.responseFormat;
  if (parts.thinking !== undefined) out.thinking = parts.thinking;
  return out;
}

export function chatPromptOptions(body: ChatCompletionRequest): ChatPromptOptions {
  const c = body.tool_choice;
  const f = body.response_format;
  return promptOptions({
    tools: body.tools?.map((t) => toolDefinition(t.function)),
    toolChoice: c == null ? undefined : typeof c === "string" ? c : { name: c.function.name },
    responseFormat:
      f == null ? undefined : responseFormat(f.type === "json_schema" ? { type: f.type, ...f.json_schema } : f),
    thinking: thinkingSwitch(body.chat_template_kwargs?.enable_thinking, body.reasoning_effort),
  });
}
