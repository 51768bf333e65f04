// /v1/responses through the official `openai` client (responses.create, responses.stream,
// retrieve, delete): each answer is compared with what the engine generates for the same
// conversation rendered by the chat layer.
import OpenAI from "openai";
import { describe, expect, it } from "vitest";

import type { ChatMessage } from "@wenxin/engine";
import type { ChatPromptOptions } from "@wenxin/engine/internal";

import { chatPromptIds, expectedChat } from "./helpers/expected.js";
import { PERSON_SCHEMA, person } from "./helpers/expected.js";
import { MODEL_ID, useDenseServer } from "./helpers/test_server.js";

const INSTRUCTIONS = "你是文心一言。";
const QUESTION = "你好，介绍一下你自己";
const TOOLS: OpenAI.Responses.FunctionTool[] = [
  {
    type: "function",
    name: "get_weather",
    description: "Weather of a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    strict: false,
  },
  { type: "function", name: "add_person", parameters: PERSON_SCHEMA, strict: true },
];
/** The same tools as the chat layer takes them. */
const CHAT_TOOLS: ChatPromptOptions["tools"] = TOOLS.map((t) => ({
  type: "function",
  function: {
    name: t.name,
    parameters: t.parameters!,
    ...(t.description ? { description: t.description } : {}),
    strict: t.strict!,
  },
}));

const ctx = useDenseServer({ responsesStoreSize: 4 });

const base = { model: MODEL_ID, temperature: 0, max_output_tokens: 12 } as const;
const CONVERSATION: ChatMessage[] = [
  { role: "system", content: INSTRUCTIONS },
  { role: "user", content: QUESTION },
];

describe("responses.create", () => {
  it("answers an input string with instructions as the engine does", async () => {
    const want = await expectedChat(ctx.engine, CONVERSATION, { temperature: 0, maxNewTokens: 12 });
    const res = await ctx.client.responses.create({ ...base, instructions: INSTRUCTIONS, input: QUESTION });
    expect(res).toMatchObject({ object: "response", model: MODEL_ID, instructions: INSTRUCTIONS });
    expect(res.id).toMatch(/^resp_/);
    expect(res.output_text).toBe(want.content);
    expect(res.status).toBe(want.finishReason === "length" ? "incomplete" : "completed");
    if (res.status === "incomplete") expect(res.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(res.output).toHaveLength(1);
    expect(res.output[0]).toMatchObject({ type: "message", role: "assistant", id: expect.stringMatching(/^msg_/) });
    expect(res.usage).toMatchObject({
      input_tokens: want.promptTokens,
      output_tokens: want.completionTokens,
      total_tokens: want.promptTokens + want.completionTokens,
    });
  });

  it("takes message items with text parts, developer messages as system", async () => {
    const want = await expectedChat(ctx.engine, CONVERSATION, { temperature: 0, maxNewTokens: 12 });
    const res = await ctx.client.responses.create({
      ...base,
      input: [
        { role: "developer", content: INSTRUCTIONS },
        { type: "message", role: "user", content: [{ type: "input_text", text: QUESTION }] },
      ],
    });
    expect(res.output_text).toBe(want.content);
    expect(res.usage!.input_tokens).toBe(want.promptTokens);
  });

  it("returns thinking as a reasoning item when reasoning is asked for", async () => {
    const want = await expectedChat(ctx.engine, CONVERSATION, { temperature: 0, maxNewTokens: 8 }, { thinking: true });
    expect(want.reasoning.length).toBeGreaterThan(0);
    const res = await ctx.client.responses.create({
      ...base,
      max_output_tokens: 8,
      instructions: INSTRUCTIONS,
      input: QUESTION,
      reasoning: { effort: "high" },
    });
    const reasoning = res.output.find((o) => o.type === "reasoning") as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning.content).toEqual([{ type: "reasoning_text", text: want.reasoning }]);
    expect(res.output_text).toBe(want.content);
  });

  it("gives JSON that validates for text.format json_schema", async () => {
    const res = await ctx.client.responses.create({
      model: MODEL_ID,
      input: "Tell me about someone.",
      max_output_tokens: 200,
      text: { format: { type: "json_schema", name: "person", schema: PERSON_SCHEMA, strict: true } },
    });
    expect(res.status).toBe("completed");
    expect(person.safeParse(JSON.parse(res.output_text)).success).toBe(true);
  });

  it("calls a function tool, and continues from its output", async () => {
    const first = await ctx.client.responses.create({
      model: MODEL_ID,
      input: "Tell me about someone.",
      tools: TOOLS,
      tool_choice: { type: "function", name: "add_person" },
      max_output_tokens: 200,
    });
    expect(first.status).toBe("completed");
    const call = first.output.find((o) => o.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ name: "add_person", call_id: expect.stringMatching(/^call_/), status: "completed" });
    expect(person.safeParse(JSON.parse(call.arguments)).success).toBe(true);
    expect(first.output.some((o) => o.type === "message")).toBe(false);

    // The tool's output, by previous_response_id and by sending the items back: the same prompt.
    const conversation: ChatMessage[] = [
      { role: "user", content: "Tell me about someone." },
      {
        role: "assistant",
        content: "",
        tool_calls: [{ id: call.call_id, type: "function", function: { name: call.name, arguments: call.arguments } }],
      },
      { role: "tool", content: "saved", tool_call_id: call.call_id },
    ];
    const want = { promptTokens: chatPromptIds(ctx.engine, conversation, { tools: CHAT_TOOLS }).length };
    const output: OpenAI.Responses.ResponseInputItem = {
      type: "function_call_output",
      call_id: call.call_id,
      output: "saved",
    };
    const chained = await ctx.client.responses.create({
      ...base,
      max_output_tokens: 6,
      tools: TOOLS,
      previous_response_id: first.id,
      input: [output],
    });
    const resent = await ctx.client.responses.create({
      ...base,
      max_output_tokens: 6,
      tools: TOOLS,
      input: [
        { role: "user", content: "Tell me about someone." },
        { type: "function_call", call_id: call.call_id, name: call.name, arguments: call.arguments },
        output,
      ],
    });
    // The same prompt both ways. (Outputs are not compared: this prompt's greedy continuation has
    // near-ties in the random model that a prefix-cache hit's different batching can break either way.)
    for (const res of [chained, resent]) {
      expect(res.usage!.input_tokens).toBe(want.promptTokens);
      expect(res.usage!.output_tokens).toBeGreaterThan(0);
    }
    expect(chained.previous_response_id).toBe(first.id);
  });

  it("continues a conversation by previous_response_id (instructions not carried over)", async () => {
    const first = await ctx.client.responses.create({ ...base, instructions: INSTRUCTIONS, input: QUESTION });
    const second = await ctx.client.responses.create({ ...base, previous_response_id: first.id, input: "再说一遍" });
    const conversation: ChatMessage[] = [
      { role: "user", content: QUESTION },
      { role: "assistant", content: first.output_text },
      { role: "user", content: "再说一遍" },
    ];
    expect(second.usage!.input_tokens).toBe(chatPromptIds(ctx.engine, conversation).length);
    const want = await expectedChat(ctx.engine, conversation, { temperature: 0, maxNewTokens: 12 });
    expect(second.output_text).toBe(want.content);
  });

  it("keeps a bounded number of responses, retrievable and deletable", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await ctx.client.responses.create({ ...base, max_output_tokens: 1, input: `q${i}` })).id);
    // The store holds 4: the oldest is gone.
    await expect(ctx.client.responses.retrieve(ids[0]!)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      ctx.client.responses.create({ ...base, previous_response_id: ids[0]!, input: "x" }),
    ).rejects.toMatchObject({ status: 404, code: "response_not_found", param: "previous_response_id" });
    expect((await ctx.client.responses.retrieve(ids[4]!)).id).toBe(ids[4]);
    await ctx.client.responses.delete(ids[4]!);
    await expect(ctx.client.responses.retrieve(ids[4]!)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    // store: false keeps nothing.
    const unstored = await ctx.client.responses.create({ ...base, max_output_tokens: 1, input: "x", store: false });
    await expect(ctx.client.responses.retrieve(unstored.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("refuses what it cannot do, naming the parameter", async () => {
    await expect(
      ctx.client.responses.create({ ...base, input: "x", tools: [{ type: "web_search" }] }),
    ).rejects.toMatchObject({ status: 400, code: "unsupported_parameter", param: "tools[0].type" });
    await expect(
      ctx.client.responses.create({ ...base, input: [{ type: "item_reference", id: "msg_1" }] }),
    ).rejects.toMatchObject({ status: 400, param: "input[0].type" });
    await expect(
      ctx.client.responses.create({
        ...base,
        input: [{ role: "user", content: [{ type: "input_image", image_url: "http://x/y.png", detail: "auto" }] }],
      }),
    ).rejects.toMatchObject({ status: 400, param: "input[0].content[0].type" });
    await expect(ctx.client.responses.create({ ...base, input: "x", background: true })).rejects.toMatchObject({
      status: 400,
      param: "background",
    });
  });
});

describe("responses.stream", () => {
  it("streams typed events that add up to the same response", async () => {
    const whole = await ctx.client.responses.create({ ...base, instructions: INSTRUCTIONS, input: QUESTION });
    const stream = ctx.client.responses.stream({ ...base, instructions: INSTRUCTIONS, input: QUESTION });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const ev of stream) events.push(ev);
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(whole.output_text);
    expect(final.usage).toEqual(whole.usage);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const types = events.map((e) => e.type);
    const deltas = types.filter((t) => t === "response.output_text.delta").length;
    expect(deltas).toBeGreaterThan(1);
    expect(types.filter((t) => t !== "response.output_text.delta")).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      whole.status === "completed" ? "response.completed" : "response.incomplete",
    ]);
    const text = events.flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : [])).join("");
    expect(text).toBe(whole.output_text);
  });

  it("streams a function call's arguments as deltas", async () => {
    const stream = ctx.client.responses.stream({
      model: MODEL_ID,
      input: "Tell me about someone.",
      tools: TOOLS,
      tool_choice: "required",
      max_output_tokens: 200,
      temperature: 1,
    });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const ev of stream) events.push(ev);
    const final = await stream.finalResponse();
    const call = final.output.find((o) => o.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
    expect(["get_weather", "add_person"]).toContain(call.name);
    const deltas = events.flatMap((e) => (e.type === "response.function_call_arguments.delta" ? [e.delta] : []));
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe(call.arguments);
    const done = events.find((e) => e.type === "response.function_call_arguments.done");
    expect(done).toMatchObject({ name: call.name, arguments: call.arguments });
    expect(JSON.parse(call.arguments)).toBeTypeOf("object");
  });
});
