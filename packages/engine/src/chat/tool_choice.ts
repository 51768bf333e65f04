/**
 * Turns `tool_choice` into generation settings: which tools the prompt shows, what the assistant
 * turn starts with, and which constraint the sampler gets. A forced call is prefilled up to its
 * arguments (`<tool_call>\n{"name": "X", "arguments": `), so the tool name is fixed by the prompt
 * and the arguments by the constraint.
 */
import { WenxinError } from "../errors.js";
import type { ChatConstraint, JsonSchema, ResponseFormat, ToolChoiceOption, ToolDefinition } from "./chat_types.js";
import { toPythonStyleJson } from "./tool_prompt.js";

export interface ToolPlan {
  /** Tools to describe in the prompt. */
  tools: ToolDefinition[];
  /** Text the assistant turn starts with (feed it to the output parser before the generated text). */
  prefill: string;
  constraint?: ChatConstraint;
  /** Read `<tool_call>` blocks from the output (false: they stay text). */
  parseToolCalls: boolean;
  /** End the turn once the first call's arguments are complete JSON. */
  stopAfterFirstToolCall: boolean;
}

const ANY_OBJECT: JsonSchema = { type: "object" };

/** The JSON schema of one `{"name": ..., "arguments": ...}` object for any of `tools`. */
export function toolCallSchema(tools: ToolDefinition[]): JsonSchema {
  const variants = tools.map((t) => ({
    type: "object",
    properties: { name: { const: t.function.name }, arguments: t.function.parameters ?? ANY_OBJECT },
    required: ["name", "arguments"],
    additionalProperties: false,
  }));
  return variants.length === 1 ? variants[0]! : { anyOf: variants };
}

/** True for an object schema that allows only `{}` (no properties, no additional ones). */
export function takesNoArguments(schema: JsonSchema): boolean {
  const properties = schema.properties as Record<string, unknown> | undefined;
  return (
    schema.type === "object" &&
    (!properties || Object.keys(properties).length === 0) &&
    schema.additionalProperties === false
  );
}

/** The opening of a call to `name`, up to where its arguments start. */
export function toolCallPrefix(name: string): string {
  return `<tool_call>\n{"name": ${JSON.stringify(name)}, "arguments": `;
}

function findTool(tools: ToolDefinition[], name: string): ToolDefinition {
  const tool = tools.find((t) => t.function.name === name);
  if (!tool)
    throw new WenxinError(
      "ERR_WENXIN_INVALID_ARGUMENT",
      `tool_choice names '${name}', which is not among the tools (${tools.map((t) => t.function.name).join(", ") || "none"})`,
      {
        subject: "tool_choice",
        expected: tools.map((t) => t.function.name),
        actual: name,
      },
    );
  return tool;
}

/** Plans generation for `tools` under `choice` (default `auto`). */
export function planToolChoice(tools: ToolDefinition[], choice: ToolChoiceOption = "auto"): ToolPlan {
  if (tools.length === 0) {
    if (choice === "required" || typeof choice === "object")
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "tool_choice requires a tool call but no tools were given", {
        subject: "tool_choice",
      });
    return { tools: [], prefill: "", parseToolCalls: true, stopAfterFirstToolCall: false };
  }
  if (choice === "none") return { tools: [], prefill: "", parseToolCalls: false, stopAfterFirstToolCall: false };

  const forced =
    typeof choice === "object"
      ? findTool(tools, choice.name)
      : choice === "required" && tools.length === 1
        ? tools[0]!
        : undefined;
  if (forced) {
    const schema = forced.function.parameters ?? ANY_OBJECT;
    // A tool that takes no arguments needs nothing generated: the whole call is the prefill.
    if (takesNoArguments(schema))
      return {
        tools,
        prefill: `${toolCallPrefix(forced.function.name)}{}`,
        parseToolCalls: true,
        stopAfterFirstToolCall: true,
      };
    return {
      tools,
      prefill: toolCallPrefix(forced.function.name),
      constraint: { type: "json_schema", schema },
      parseToolCalls: true,
      stopAfterFirstToolCall: true,
    };
  }
  if (choice === "required") {
    return {
      tools,
      prefill: "<tool_call>\n",
      constraint: { type: "json_schema", schema: toolCallSchema(tools) },
      parseToolCalls: true,
      stopAfterFirstToolCall: true,
    };
  }
  // auto: free text; strict tools get their calls constrained once a call opens, every call of
  // the turn (the trigger re-arms after each).
  const strict = tools.filter((t) => t.function.strict === true);
  return {
    tools,
    prefill: "",
    ...(strict.length > 0
      ? {
          constraint: {
            type: "json_schema",
            schema: toolCallSchema(strict),
            trigger: "<tool_call>",
            rearm: true,
          } as const,
        }
      : {}),
    parseToolCalls: true,
    stopAfterFirstToolCall: false,
  };
}

export interface ResponseFormatPlan {
  constraint?: ChatConstraint;
  /** A line for the system prompt that asks for the format (models follow it better when told). */
  instruction: string;
}

/** Plans a reply in OpenAI's `response_format`. */
export function planResponseFormat(format: ResponseFormat | undefined): ResponseFormatPlan {
  if (!format || format.type === "text") return { instruction: "" };
  if (format.type === "json_object")
    return { constraint: { type: "json_object" }, instruction: "Reply with a single JSON object and nothing else." };
  if (format.type === "json_schema") {
    const schema = format.json_schema?.schema;
    if (!schema || typeof schema !== "object")
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "response_format json_schema needs json_schema.schema", {
        subject: "response_format",
      });
    return {
      constraint: { type: "json_schema", schema },
      instruction: `Reply with a single JSON value that validates against this JSON schema, and nothing else:\n${toPythonStyleJson(schema)}`,
    };
  }
  throw new WenxinError(
    "ERR_WENXIN_INVALID_ARGUMENT",
    `unknown response_format type '${(format as { type: unknown }).type}'`,
    {
      subject: "response_format.type",
    },
  );
}
