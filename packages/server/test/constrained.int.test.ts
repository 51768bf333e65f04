// Answers that must be valid JSON (response_format, forced tool calls) from the random-weight
// model: only constrained decoding can make them so.
import { HumanMessage } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
import type OpenAI from "openai";
import { describe, expect, it } from "vitest";

import { PERSON_SCHEMA, person } from "./helpers/expected.js";
import { MODEL_ID, useDenseServer } from "./helpers/test_server.js";

const TOOLS = [
  {
    type: "function" as const,
    function: {
      name: "get_weather",
      parameters: {
        type: "object",
        properties: { city: { type: "string" } },
        required: ["city"],
        additionalProperties: false,
      },
    },
  },
  { type: "function" as const, function: { name: "add_person", parameters: PERSON_SCHEMA } },
];
const messages = [{ role: "user" as const, content: "Tell me about someone." }];

describe("constrained answers", () => {
  const ctx = useDenseServer();

  it("response_format json_object gives a JSON object", async () => {
    const res = await ctx.client.chat.completions.create({
      model: MODEL_ID,
      messages,
      response_format: { type: "json_object" },
      seed: 1,
      max_tokens: 200,
    });
    const value: unknown = JSON.parse(res.choices[0]!.message.content!);
    expect(value).toBeTypeOf("object");
    expect(res.choices[0]!.finish_reason).toBe("stop");
  });

  it("response_format json_schema gives JSON that validates, streamed or not", async () => {
    const format = {
      type: "json_schema" as const,
      json_schema: { name: "person", schema: PERSON_SCHEMA, strict: true },
    };
    const res = await ctx.client.chat.completions.create({
      model: MODEL_ID,
      messages,
      response_format: format,
      seed: 2,
      max_tokens: 200,
    });
    expect(person.safeParse(JSON.parse(res.choices[0]!.message.content!)).success).toBe(true);
    const stream = await ctx.client.chat.completions.create({
      model: MODEL_ID,
      messages,
      response_format: format,
      seed: 2,
      max_tokens: 200,
      stream: true,
    });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
    expect(text).toBe(res.choices[0]!.message.content);
  });

  it("a named tool_choice gives that call, its arguments streamed as deltas", async () => {
    const stream = await ctx.client.chat.completions.create({
      model: MODEL_ID,
      messages,
      tools: TOOLS,
      tool_choice: { type: "function", function: { name: "add_person" } },
      seed: 3,
      max_tokens: 200,
      stream: true,
    });
    const calls: { id?: string; name?: string; arguments: string }[] = [];
    let finish: string | null = null;
    let argumentChunks = 0;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (!choice) continue;
      finish = choice.finish_reason ?? finish;
      for (const d of choice.delta.tool_calls ?? []) {
        const call = (calls[d.index] ??= { arguments: "" });
        if (d.id) call.id = d.id;
        if (d.function?.name) call.name = d.function.name;
        if (d.function?.arguments) {
          call.arguments += d.function.arguments;
          argumentChunks++;
        }
      }
    }
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ id: expect.stringMatching(/^call_/), name: "add_person" });
    expect(person.safeParse(JSON.parse(calls[0]!.arguments)).success).toBe(true);
    expect(argumentChunks).toBeGreaterThan(1);
    expect(finish).toBe("tool_calls");
  });

  it("tool_choice required calls one of the tools", async () => {
    const res = await ctx.client.chat.completions.create({
      model: MODEL_ID,
      messages,
      tools: TOOLS,
      tool_choice: "required",
      seed: 4,
      max_tokens: 200,
    });
    const call = res.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(["get_weather", "add_person"]).toContain(call.function.name);
    expect(JSON.parse(call.function.arguments)).toBeTypeOf("object");
  });

  it("ChatOpenAI.withStructuredOutput works with json_schema and with function calling", async () => {
    const model = new ChatOpenAI({
      model: MODEL_ID,
      apiKey: "unused",
      configuration: { baseURL: ctx.srv.baseURL },
      maxRetries: 0,
      maxTokens: 200,
      temperature: 0,
    });
    for (const method of ["jsonSchema", "functionCalling"] as const) {
      const parsed = await model
        .withStructuredOutput(person, { method })
        .invoke([new HumanMessage("Tell me about someone.")]);
      expect(person.safeParse(parsed).success, method).toBe(true);
    }
  });
});
