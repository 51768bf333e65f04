// Checks that need constrained decoding (engine.generate's `constraint` option): on a random-weight
// model only a constraint makes the arguments and structured replies valid JSON.
import type { AIMessageChunk } from "@langchain/core/messages";
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { StructuredTool, tool } from "@langchain/core/tools";
import { toJsonSchema } from "@langchain/core/utils/json_schema";
import { Engine } from "@wenxin/engine";
import { createAgent, createMiddleware } from "langchain";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";

import { ChatWenxin } from "../src/index.js";
import { DENSE_DIR } from "../../../test/helpers/fixtures.js";

const adder = z.object({ a: z.number().int(), b: z.number().int() }).describe("Adds a and b");
const adderJson = toJsonSchema(adder) as Record<string, unknown>;
const verdict = z.object({
  label: z.enum(["positive", "negative", "neutral"]),
  confident: z.boolean(),
  stars: z.number().int(),
});

class AdderTool extends StructuredTool {
  name = "add";
  description = "Adds a and b";
  schema = adder;
  async _call({ a, b }: { a: number; b: number }) {
    return String(a + b);
  }
}

const kinds: [string, unknown][] = [
  [
    "a zod tool()",
    tool(async ({ a, b }) => String(a + b), { name: "add", description: "Adds a and b", schema: adder }),
  ],
  ["a JSON-schema tool", { name: "add", description: "Adds a and b", schema: adderJson }],
  ["a StructuredTool", new AdderTool()],
  [
    "an OpenAI-format tool",
    { type: "function", function: { name: "add", description: "Adds a and b", parameters: adderJson } },
  ],
];

describe("ChatWenxin with constrained decoding", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 1024 });
  });
  afterAll(() => engine?.close());

  const chat = (fields: Partial<ConstructorParameters<typeof ChatWenxin>[0]> = {}) =>
    new ChatWenxin({ model: engine, temperature: 0.8, topP: 0.8, seed: 11, maxTokens: 128, ...fields });

  it.each(kinds)("forces a call to %s whose arguments validate", async (_kind, t) => {
    const msg = await chat()
      .bindTools([t as never], { tool_choice: "add" })
      .invoke("What is 1 + 2?");
    expect(msg.invalid_tool_calls).toEqual([]);
    expect(msg.tool_calls).toHaveLength(1);
    expect(msg.tool_calls![0]).toMatchObject({ type: "tool_call", name: "add", id: expect.stringMatching(/^call_/) });
    expect(adder.safeParse(msg.tool_calls![0]!.args).success).toBe(true);
    expect(msg.response_metadata.finish_reason).toBe("tool_calls");
  });

  it("calls one of several tools, with valid arguments, for tool_choice 'any'", async () => {
    const review = tool(async () => "", { name: "review", description: "Classify a review", schema: verdict });
    const msg = await chat().bindTools([new AdderTool(), review], { tool_choice: "any" }).invoke("Great product!");
    expect(msg.tool_calls).toHaveLength(1);
    const call = msg.tool_calls![0]!;
    expect(["add", "review"]).toContain(call.name);
    expect((call.name === "add" ? adder : verdict).safeParse(call.args).success).toBe(true);
  });

  it("streams a forced call's arguments as tool_call_chunks that merge into the invoked call", async () => {
    const model = chat().bindTools([new AdderTool()], { tool_choice: "add" });
    const chunks: AIMessageChunk[] = [];
    for await (const c of await model.stream("What is 1 + 2?")) chunks.push(c);
    const callChunks = chunks.flatMap((c) => c.tool_call_chunks ?? []);
    expect(callChunks.length).toBeGreaterThan(1);
    expect(callChunks[0]).toMatchObject({ name: "add", index: 0, id: expect.stringMatching(/^call_/) });
    const merged = chunks.reduce((a, b) => a.concat(b));
    const invoked = await model.invoke("What is 1 + 2?");
    expect(merged.tool_calls![0]!.args).toEqual(invoked.tool_calls![0]!.args);
    expect(merged.usage_metadata!.input_tokens).toBeGreaterThan(0);
  });

  it.each(["jsonSchema", "functionCalling"] as const)(
    "returns structured output that validates (%s, zod)",
    async (method) => {
      const result = await chat().withStructuredOutput(verdict, { method, name: "review" }).invoke("Great product!");
      expect(verdict.safeParse(result).success).toBe(true);
    },
  );

  it("returns structured output that validates against a JSON schema, with the raw message", async () => {
    const schema = toJsonSchema(verdict) as Record<string, unknown>;
    const out = await chat().withStructuredOutput(schema, { includeRaw: true }).invoke("Great product!");
    expect(verdict.safeParse(out.parsed).success).toBe(true);
    expect(out.raw).toBeInstanceOf(AIMessage);
  });

  it("forces a tool whose zod schema has a z.record (LangChain's standard test shape): valid arguments", async () => {
    const api = z.object({
      apiDetails: z.object({
        endpoint: z.string().max(20),
        parameters: z.record(z.string(), z.union([z.string().max(10), z.number()])),
      }),
    });
    const callApi = tool(async () => "ok", { name: "call_api", description: "Calls an API", schema: api });
    for (const seed of [1, 2, 3]) {
      const msg = await chat({ seed })
        .bindTools([callApi], { tool_choice: "call_api" })
        .invoke("Call the weather API for Paris.");
      expect(msg.invalid_tool_calls).toEqual([]);
      expect(api.safeParse(msg.tool_calls![0]!.args).success).toBe(true);
      expect(msg.response_metadata.warnings).toBeUndefined();
    }
  });

  it("relaxes a keyword the grammar cannot enforce, with a warning in response_metadata (not a failed call)", async () => {
    const even = z.object({ n: z.number().int().min(0).max(1000).multipleOf(2), tag: z.string().max(8) });
    const out = await chat()
      .withStructuredOutput(even, { method: "jsonSchema", includeRaw: true })
      .invoke("An even number.");
    const raw = out.raw as AIMessage;
    expect(raw.response_metadata.warnings).toEqual([
      expect.stringMatching(/^#\/properties\/n\/multipleOf: 'multipleOf' is not enforced/),
    ]);
    const value = JSON.parse(raw.content as string) as { n: number; tag: string };
    expect(Number.isInteger(value.n) && value.n >= 0 && value.n <= 1000).toBe(true);
    expect(typeof value.tag).toBe("string");
  });

  it("returns a JSON object in jsonMode", async () => {
    const result = await chat()
      .withStructuredOutput({ type: "object" }, { method: "jsonMode" })
      .invoke("Describe ERNIE as JSON.");
    expect(typeof result).toBe("object");
    expect(Array.isArray(result)).toBe(false);
  });

  it("runs an agent whose first step is a forced call of a tool with arguments", async () => {
    const add = tool(async ({ a, b }) => String(a + b), { name: "add", description: "Adds a and b", schema: adder });
    const forceFirst = createMiddleware({
      name: "ForceAddFirst",
      wrapModelCall: (request, handler) =>
        handler(
          request.messages.some((m) => ToolMessage.isInstance(m))
            ? request
            : { ...request, toolChoice: { type: "function", function: { name: "add" } } },
        ),
    });
    const agent = createAgent({ model: chat({ maxTokens: 32 }), tools: [add], middleware: [forceFirst] });
    const { messages } = await agent.invoke({ messages: [{ role: "user", content: "What is 1 + 2?" }] });
    const call = (messages[1] as AIMessage).tool_calls![0]!;
    const result = messages.find((m) => ToolMessage.isInstance(m)) as ToolMessage;
    expect(result.tool_call_id).toBe(call.id);
    expect(result.content).toBe(String(call.args.a + call.args.b));
  });
});
