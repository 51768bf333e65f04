// The request schema against the bodies real clients send.
import { describe, expect, it } from "vitest";

import { chatPromptOptions } from "../../../src/chat/prompt_options.js";
import { chatCompletionRequestSchema } from "../../../src/routes/chat_completions/protocol.js";
import { parseBody } from "../../../src/routes/validate.js";

describe("chatCompletionRequestSchema", () => {
  it("accepts ChatOpenAI's structured-output body (json_schema with $schema, strict and nulls)", () => {
    const body = {
      model: "m",
      temperature: 0,
      top_p: null,
      stream: false,
      stop: null,
      tools: undefined,
      messages: [{ role: "user", content: "hi" }],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "extract",
          description: undefined,
          schema: {
            $schema: "https://json-schema.org/draft/2020-12/schema",
            type: "object",
            properties: { a: { type: "string" } },
            required: ["a"],
            additionalProperties: false,
          },
          strict: true,
        },
      },
      user: null,
      prompt_cache_key: undefined,
    };
    const parsed = parseBody(chatCompletionRequestSchema, JSON.parse(JSON.stringify(body)));
    expect(chatPromptOptions(parsed)).toEqual({
      responseFormat: {
        type: "json_schema",
        json_schema: { name: "extract", schema: body.response_format.json_schema.schema, strict: true },
      },
    });
  });

  it("converts tools, a named tool_choice and the thinking switches", () => {
    const parsed = parseBody(chatCompletionRequestSchema, {
      model: "m",
      messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
      tools: [
        {
          type: "function",
          function: { name: "get_weather", description: null, parameters: { type: "object" }, strict: false },
        },
      ],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      reasoning_effort: "none",
    });
    expect(chatPromptOptions(parsed)).toEqual({
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" }, strict: false } }],
      toolChoice: { name: "get_weather" },
      thinking: false,
    });
    const kwargs = parseBody(chatCompletionRequestSchema, {
      model: "m",
      messages: [{ role: "user", content: "x" }],
      chat_template_kwargs: { enable_thinking: true },
      reasoning_effort: "none",
    });
    expect(chatPromptOptions(kwargs).thinking).toBe(true);
  });

  it("ignores fields it does not know, as OpenAI-compatible servers do", () => {
    expect(() =>
      parseBody(chatCompletionRequestSchema, {
        model: "m",
        messages: [{ role: "user", content: "x" }],
        store: true,
        metadata: { a: "b" },
        service_tier: "auto",
      }),
    ).not.toThrow();
  });

  it("names the offending parameter in OpenAI's style", () => {
    expect(() =>
      parseBody(chatCompletionRequestSchema, {
        model: "m",
        messages: [
          { role: "user", content: "x" },
          { role: "tool", content: "y" },
        ],
      }),
    ).toThrow(
      expect.objectContaining({ status: 400, param: "messages[1].tool_call_id", code: "missing_required_parameter" }),
    );
    expect(() =>
      parseBody(chatCompletionRequestSchema, {
        model: "m",
        messages: [{ role: "user", content: "x" }],
        tools: [{ type: "function", function: { name: "bad name!" } }],
      }),
    ).toThrow(expect.objectContaining({ param: "tools[0].function.name" }));
  });
});
