/**
 * Shapes of the chat-format layer. Tools, tool choice and response formats are in OpenAI's wire
 * format, so that the LangChain adapter and the HTTP server pass them through unchanged.
 */

/** A JSON schema (draft 2020-12 / OpenAPI subset), as a plain object. */
export type JsonSchema = Record<string, unknown>;

/** An OpenAI-format tool. */
export interface ToolDefinition {
  type: "function";
  function: {
    name: string;
    description?: string;
    /** JSON schema of the arguments object (default: any object). */
    parameters?: JsonSchema;
    /** Constrain the arguments to `parameters` even when the call is not forced. */
    strict?: boolean;
  };
}

/** A tool call in an assistant message of the conversation (OpenAI format: arguments as a JSON string). */
export interface ToolCallMessagePart {
  id?: string;
  type?: "function";
  function: { name: string; arguments: string | Record<string, unknown> };
}

/**
 * How the model may use tools: `auto` (its choice), `none`, `required` (at least one call, any
 * tool) or one named tool.
 */
export type ToolChoiceOption = "auto" | "none" | "required" | { name: string };

/** OpenAI's `response_format`. */
export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; json_schema: { name?: string; description?: string; schema: JsonSchema; strict?: boolean } };

/**
 * A constraint on generated tokens (constrained decoding). `trigger` starts the constraint only
 * once that text has been generated (a tool call opened in free text).
 */
export type ChatConstraint =
  | { type: "json_schema"; schema: JsonSchema; trigger?: string; rearm?: boolean }
  | { type: "json_object"; trigger?: string }
  | { type: "regex"; pattern: string }
  | { type: "grammar"; gbnf: string };

/** What the output parser reports while reading a streamed reply. */
export type ChatOutputEvent =
  | { type: "text"; text: string }
  | { type: "reasoning"; text: string }
  /** A call opened: its name is known, its arguments follow as deltas. */
  | { type: "tool_call_begin"; index: number; id: string; name: string }
  /** More of the arguments' JSON text. */
  | { type: "tool_call_delta"; index: number; arguments: string }
  | { type: "tool_call_end"; call: ParsedToolCall }
  /** A block that is not a valid call; when no begin came for it, this is all there is. */
  | { type: "tool_call_invalid"; call: InvalidToolCall; begun: boolean };

export interface ParsedToolCall {
  index: number;
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

export interface InvalidToolCall {
  index: number;
  id: string;
  name?: string;
  /** The text that did not parse (the arguments when the head was read, else the whole block). */
  arguments: string;
  error: string;
}

export interface ChatOutput {
  content: string;
  reasoning: string;
  toolCalls: ParsedToolCall[];
  invalidToolCalls: InvalidToolCall[];
}
