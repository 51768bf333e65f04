/** The chat request's tools, tool_choice, response_format and thinking switch in the chat layer's terms. */
import type {
  ChatPromptOptions,
  ResponseFormat as EngineResponseFormat,
  ToolChoiceOption,
  ToolDefinition,
} from "@wenxin/engine/internal";

import type { ChatCompletionRequest } from "../routes/chat_completions/protocol.js";

function tools(body: ChatCompletionRequest): ToolDefinition[] | undefined {
  return body.tools?.map(({ function: f }) => ({
    type: "function",
    function: {
      name: f.name,
      ...(f.description != null ? { description: f.description } : {}),
      ...(f.parameters != null ? { parameters: f.parameters } : {}),
      ...(f.strict != null ? { strict: f.strict } : {}),
    },
  }));
}

function toolChoice(body: ChatCompletionRequest): ToolChoiceOption | undefined {
  const c = body.tool_choice;
  if (c == null) return undefined;
  return typeof c === "string" ? c : { name: c.function.name };
}

function responseFormat(body: ChatCompletionRequest): EngineResponseFormat | undefined {
  const f = body.response_format;
  if (f == null) return undefined;
  if (f.type !== "json_schema") return f;
  const s = f.json_schema;
  return {
    type: "json_schema",
    json_schema: {
      // A missing schema is refused by the chat layer with a message that says so.
      schema: s.schema ?? (undefined as unknown as Record<string, unknown>),
      ...(s.name != null ? { name: s.name } : {}),
      ...(s.description != null ? { description: s.description } : {}),
      ...(s.strict != null ? { strict: s.strict } : {}),
    },
  };
}

function thinking(body: ChatCompletionRequest): boolean | undefined {
  const explicit = body.chat_template_kwargs?.enable_thinking;
  if (explicit != null) return explicit;
  if (body.reasoning_effort != null) return body.reasoning_effort !== "none";
  return undefined;
}

export function chatPromptOptions(body: ChatCompletionRequest): ChatPromptOptions {
  const out: ChatPromptOptions = {};
  const t = tools(body);
  if (t?.length) out.tools = t;
  const choice = toolChoice(body);
  if (choice !== undefined) out.toolChoice = choice;
  const format = responseFormat(body);
  if (format !== undefined) out.responseFormat = format;
  const think = thinking(body);
  if (think !== undefined) out.thinking = think;
  return out;
}
