/**
 * `bindTools` inputs (zod or JSON-schema tools, StructuredTools, OpenAI-format tools) and
 * LangChain's `tool_choice` → the chat-format layer's tool definitions and choice.
 */
import { WenxinError } from "@wenxin/engine";
import { type ToolChoiceOption, type ToolDefinition } from "@wenxin/engine/internal";
import type { BindToolsInput, ToolChoice } from "@langchain/core/language_models/chat_models";
import { convertToOpenAITool } from "@langchain/core/utils/function_calling";

const EMPTY_OBJECT: Record<string, unknown> = { type: "object", properties: {} };

/** One tool in OpenAI's format, whatever form it was given in. */
export function toToolDefinition(tool: BindToolsInput, strict?: boolean): ToolDefinition {
  const converted = convertToOpenAITool(tool as Parameters<typeof convertToOpenAITool>[0]) as unknown as Record<
    string,
    unknown
  >;
  const fn = (converted.type === "function" && converted.function ? converted.function : converted) as {
    name?: unknown;
    description?: unknown;
    parameters?: unknown;
    strict?: unknown;
  };
  if (typeof fn.name !== "string" || fn.name.length === 0)
    throw new WenxinError(
      "ERR_WENXIN_INVALID_ARGUMENT",
      "cannot read a tool: expected a StructuredTool, {name, schema}, or an OpenAI tool {type: 'function', function: {name, parameters}}",
      { subject: "tools", actual: Object.keys(converted) },
    );
  // `$schema` only names a draft (LangChain writes draft-07 or 2020-12 by input kind): it is noise in a prompt.
  const { $schema: _draft, ...parameters } =
    fn.parameters && typeof fn.parameters === "object" ? (fn.parameters as Record<string, unknown>) : EMPTY_OBJECT;
  const isStrict = strict ?? (typeof fn.strict === "boolean" ? fn.strict : undefined);
  return {
    type: "function",
    function: {
      name: fn.name,
      ...(typeof fn.description === "string" && fn.description ? { description: fn.description } : {}),
      parameters,
      ...(isStrict !== undefined ? { strict: isStrict } : {}),
    },
  };
}

/**
 * LangChain's `tool_choice` ("auto", "any", "none", a tool name, or an OpenAI / Anthropic choice
 * object) → the chat-format layer's. "any" and OpenAI's "required" both force some call.
 */
export function toToolChoice(choice: ToolChoice | undefined): ToolChoiceOption | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (typeof choice === "string") {
    if (choice === "auto" || choice === "none") return choice;
    if (choice === "any" || choice === "required") return "required";
    return { name: choice };
  }
  const c = choice as { type?: unknown; name?: unknown; function?: { name?: unknown } };
  if (c.type === "function" && typeof c.function?.name === "string") return { name: c.function.name };
  if (c.type === "tool" && typeof c.name === "string") return { name: c.name };
  if (c.type === "any") return "required";
  if (c.type === "auto" || c.type === "none") return c.type;
  throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", `unsupported tool_choice ${JSON.stringify(choice)}`, {
    subject: "tool_choice",
  });
}
