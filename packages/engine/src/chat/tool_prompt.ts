/**
 * Puts tools and tool turns into ERNIE's chat format. Templates that take `tools` (the Thinking
 * models') get them as template variables; the -PT template knows neither tools nor the tool role,
 * so for it the tools become a system block and the tool turns become `<tool_call>` /
 * `<tool_response>` text, the markup the Thinking models use (see vLLM's ernie45 tool parser).
 */
import { WenxinError } from "../errors.js";
import type { ChatMessage } from "./chat_template.js";
import type { ToolCallMessagePart, ToolDefinition } from "./chat_types.js";

/** JSON with Python `json.dumps` separators (", " and ": "), the spelling ERNIE was trained on. */
export function toPythonStyleJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(toPythonStyleJson).join(", ")}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${toPythonStyleJson(v)}`).join(", ")}}`;
}

/** One tool call in the model's own syntax. */
export function formatToolCall(name: string, args: Record<string, unknown>): string {
  return `<tool_call>\n${toPythonStyleJson({ name, arguments: args })}\n</tool_call>`;
}

/** True when a chat template renders a `tools` variable itself. */
export function templateTakesTools(templateSource: string): boolean {
  return /\btools\b/.test(templateSource);
}

/** The system-prompt block that describes tools to a template without tool support. */
export function renderToolsBlock(tools: ToolDefinition[]): string {
  const listing = tools.map((t) => toPythonStyleJson(t)).join("\n");
  return [
    "# Tools",
    "",
    "You may call one or more functions to help with the user's request. The functions are described by these JSON schemas:",
    "<tools>",
    listing,
    "</tools>",
    "",
    "To call a function, reply with one block per call, each holding a JSON object with the function name and its arguments:",
    "<tool_call>",
    '{"name": <function-name>, "arguments": <arguments-json-object>}',
    "</tool_call>",
    "Function results come back inside <tool_response></tool_response>.",
  ].join("\n");
}

/** Parses a tool call's arguments (a JSON string in OpenAI's format, or already an object). */
export function toolCallArguments(call: ToolCallMessagePart): Record<string, unknown> {
  const args = call.function.arguments;
  if (typeof args !== "string") return args ?? {};
  if (args.trim() === "") return {};
  try {
    const parsed: unknown = JSON.parse(args);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw new WenxinError(
    "ERR_WENXIN_INVALID_ARGUMENT",
    `tool call '${call.function.name}' has arguments that are not a JSON object: ${args}`,
    {
      subject: "tool_calls.function.arguments",
    },
  );
}

function toolCallsOf(message: ChatMessage): ToolCallMessagePart[] {
  const calls = message.tool_calls;
  if (calls === undefined || calls === null) return [];
  if (!Array.isArray(calls))
    throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "assistant tool_calls must be an array");
  return calls as ToolCallMessagePart[];
}

/**
 * For templates without tool support: assistant tool calls become `<tool_call>` blocks after the
 * assistant's text, and each run of tool messages becomes one user turn of `<tool_response>` blocks.
 */
export function renderToolTurns(messages: ChatMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const message of messages) {
    if (message.role === "assistant") {
      const calls = toolCallsOf(message).map((c) => formatToolCall(c.function.name, toolCallArguments(c)));
      const text = [message.content ?? "", ...calls].filter((s) => s.length > 0).join("\n");
      out.push({ role: "assistant", content: text });
    } else if (message.role === "tool") {
      const block = `<tool_response>\n${message.content ?? ""}\n</tool_response>`;
      const last = out.at(-1);
      if (last?.role === "user" && last.fromTool === true) last.content += `\n${block}`;
      else out.push({ role: "user", content: block, fromTool: true });
    } else {
      out.push({ role: message.role, content: message.content ?? "" });
    }
  }
  return out.map(({ fromTool: _drop, ...m }) => m as ChatMessage);
}

/** For templates with tool support: tool-call arguments as objects, as transformers passes them. */
export function normalizeToolTurns(messages: ChatMessage[]): ChatMessage[] {
  return messages.map((m) => {
    if (m.role !== "assistant" || !m.tool_calls) return m;
    const calls = toolCallsOf(m).map((c) => ({
      ...(c.id !== undefined ? { id: c.id } : {}),
      type: "function" as const,
      function: { name: c.function.name, arguments: toolCallArguments(c) },
    }));
    return { ...m, tool_calls: calls };
  });
}

/** Adds `text` to the leading system message (or makes one). */
export function withSystemText(messages: ChatMessage[], text: string): ChatMessage[] {
  if (text.length === 0) return messages;
  const [first, ...rest] = messages;
  if (first?.role === "system") {
    const content = first.content ? `${first.content}\n\n${text}` : text;
    return [{ ...first, content }, ...rest];
  }
  return [{ role: "system", content: text }, ...messages];
}
