// Tools and structured output through the real `ai` package on the tiny dense model: forced calls
// and objects are constrained by the engine's grammar, so on random weights they are still valid.
import {
  generateObject,
  generateText,
  jsonSchema,
  Output,
  stepCountIs,
  streamObject,
  streamText,
  tool,
  type TextStreamPart,
  type ToolSet,
} from "ai";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";

import { createWenxin } from "../src/index.js";
import { DENSE_DIR } from "../../../test/helpers/fixtures.js";

// Warnings are asserted where they matter, not logged.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

const wenxin = createWenxin({ threads: 2, maxContext: 1024 });
const model = wenxin(DENSE_DIR);
afterAll(() => wenxin.close());

const sampled = { temperature: 0.8, topP: 0.9, seed: 3, maxOutputTokens: 64 } as const;

const weatherInput = z.object({ city: z.string().max(24), unit: z.enum(["celsius", "fahrenheit"]) });
const addInput = z.object({ a: z.number().int(), b: z.number().int() });
const weather = tool({
  description: "The current weather in a city",
  inputSchema: weatherInput,
  execute: async ({ city, unit }) => `${city}: 21 degrees ${unit}`,
});
const add = tool({
  description: "Adds two integers",
  inputSchema: addInput,
  execute: async ({ a, b }) => a + b,
});
const now = tool({
  description: "The current time",
  inputSchema: z.object({}),
  execute: async () => "2025-01-01T00:00:00Z",
});

describe("tools", () => {
  it("forces a named tool: the call's input validates against its schema", async () => {
    const result = await generateText({
      model,
      prompt: "What is the weather in Paris?",
      tools: { weather, add },
      toolChoice: { type: "tool", toolName: "weather" },
      ...sampled,
    });
    expect(result.finishReason).toBe("tool-calls");
    expect(result.toolCalls).toHaveLength(1);
    const call = result.toolCalls[0]!;
    expect(call.toolName).toBe("weather");
    expect(call.dynamic).toBeFalsy();
    expect(weatherInput.parse(call.input)).toEqual(call.input);
    expect(result.toolResults[0]!.output).toMatch(/: 21 degrees (celsius|fahrenheit)$/);
  });

  it("toolChoice required calls one of several tools with valid input, over several seeds", async () => {
    const schemas = { weather: weatherInput, add: addInput, now: z.object({}) };
    const results = await Promise.all(
      [1, 2, 3, 4].map((seed) =>
        generateText({
          model,
          prompt: "Use a tool.",
          tools: { weather, add, now },
          toolChoice: "required",
          ...sampled,
          seed,
        }),
      ),
    );
    for (const result of results) {
      expect(result.toolCalls).toHaveLength(1);
      const call = result.toolCalls[0]!;
      expect(schemas[call.toolName as keyof typeof schemas].parse(call.input)).toEqual(call.input);
    }
  });

  it("toolChoice none gives text and no calls", async () => {
    const result = await generateText({
      model,
      prompt: "What is 2 + 3?",
      tools: { add },
      toolChoice: "none",
      temperature: 0,
      maxOutputTokens: 16,
    });
    expect(result.toolCalls).toEqual([]);
    expect(result.text.length).toBeGreaterThan(0);
  });

  it("streams a forced call as tool-input-start/delta/end, then the call and its result", async () => {
    const result = streamText({
      model,
      prompt: "Add 2 and 3.",
      tools: { add },
      toolChoice: { type: "tool", toolName: "add" },
      ...sampled,
    });
    const parts: TextStreamPart<ToolSet>[] = [];
    for await (const part of result.fullStream) parts.push(part);
    const types = parts.map((p) => p.type);
    const start = types.indexOf("tool-input-start");
    const end = types.indexOf("tool-input-end");
    expect(start).toBeGreaterThan(0);
    expect(types.slice(start + 1, end).every((t) => t === "tool-input-delta")).toBe(true);
    expect(types.slice(end + 1, end + 3)).toEqual(["tool-call", "tool-result"]);
    const streamed = parts
      .filter((p): p is Extract<typeof p, { type: "tool-input-delta" }> => p.type === "tool-input-delta")
      .map((p) => p.delta)
      .join("");
    const call = (await result.toolCalls)[0]!;
    expect(JSON.parse(streamed)).toEqual(call.input);
    expect(addInput.parse(call.input)).toEqual(call.input);
    expect(await result.finishReason).toBe("tool-calls");
  });

  it("runs a multi-step tool loop: a forced first call, its result, then the model goes on (stepCountIs(3))", async () => {
    const result = await generateText({
      model,
      system: "You are a helpful assistant. Use the tools when they help.",
      prompt: "What time is it, and what is the weather in Beijing?",
      tools: { now, weather },
      prepareStep: ({ stepNumber }) => (stepNumber === 0 ? { toolChoice: { type: "tool", toolName: "now" } } : {}),
      stopWhen: stepCountIs(3),
      temperature: 0,
      maxOutputTokens: 32,
    });
    const [first, ...rest] = result.steps;
    expect(first!.toolCalls.map((c) => [c.toolName, c.input])).toEqual([["now", {}]]);
    expect(first!.toolResults.map((r) => r.output)).toEqual(["2025-01-01T00:00:00Z"]);
    expect(rest.length).toBeGreaterThanOrEqual(1);
    expect(result.steps.length).toBeLessThanOrEqual(3);
    // The second step's prompt carries the call and its result back to the model.
    const body = rest[0]!.request.body as { messages: { role: string; content: string; tool_call_id?: string }[] };
    expect(body.messages.at(-1)).toMatchObject({
      role: "tool",
      content: "2025-01-01T00:00:00Z",
      tool_call_id: first!.toolCalls[0]!.toolCallId,
    });
  });

  it("constrains the calls of strict tools under toolChoice auto", async () => {
    const strictAdd = tool({ ...add, strict: true });
    const results = await Promise.all(
      [1, 2, 3].map((seed) =>
        generateText({ model, prompt: "Add 2 and 3. <tool_call>", tools: { add: strictAdd }, ...sampled, seed }),
      ),
    );
    for (const result of results)
      for (const call of result.toolCalls) expect(addInput.parse(call.input)).toEqual(call.input);
  });
});

const objectSchemas: [string, z.ZodType][] = [
  ["flat object", z.object({ name: z.string(), age: z.number().int() })],
  ["booleans and numbers", z.object({ ok: z.boolean(), score: z.number(), count: z.number().int() })],
  ["bounded numbers", z.object({ pct: z.number().min(0).max(100), level: z.number().int().min(1).max(5) })],
  ["string enum", z.object({ mood: z.enum(["happy", "sad", "neutral"]) })],
  ["literal", z.object({ kind: z.literal("person"), id: z.number().int() })],
  ["optional fields", z.object({ title: z.string(), subtitle: z.string().optional() })],
  ["nullable field", z.object({ nickname: z.string().nullable() })],
  ["array of strings", z.object({ tags: z.array(z.string()).min(1).max(4) })],
  ["array of objects", z.object({ items: z.array(z.object({ sku: z.string(), qty: z.number().int() })).max(3) })],
  ["nested objects", z.object({ user: z.object({ name: z.string(), address: z.object({ city: z.string() }) }) })],
  ["string lengths", z.object({ code: z.string().min(3).max(6) })],
  ["email and uuid formats", z.object({ email: z.email(), id: z.uuid() })],
  ["date-time format", z.object({ at: z.iso.datetime() })],
  ["regex pattern", z.object({ zip: z.string().regex(/^[0-9]{5}$/) })],
  ["union", z.object({ value: z.union([z.string(), z.number()]) })],
  [
    "discriminated union",
    z.object({
      shape: z.discriminatedUnion("type", [
        z.object({ type: z.literal("circle"), r: z.number() }),
        z.object({ type: z.literal("square"), side: z.number() }),
      ]),
    }),
  ],
  ["tuple", z.object({ point: z.tuple([z.number(), z.number()]) })],
  ["record", z.object({ scores: z.record(z.string(), z.number().int()) })],
  ["array of enums", z.object({ days: z.array(z.enum(["mon", "tue", "wed"])).max(3) })],
  [
    "a form",
    z.object({
      firstName: z.string().max(20),
      lastName: z.string().max(20),
      newsletter: z.boolean(),
      interests: z.array(z.enum(["ai", "music", "sports"])).max(2),
    }),
  ],
];

describe("structured output", () => {
  it(`generateObject: ${objectSchemas.length} zod schemas × 2 seeds, run together, all give valid objects`, async () => {
    const runs = objectSchemas.flatMap(([name, schema]) =>
      [7, 8].map(async (seed) => {
        const { object, finishReason } = await generateObject({
          model,
          schema,
          prompt: "Fill in an example.",
          ...sampled,
          seed,
        });
        return { name, seed, valid: schema.safeParse(object).success, finishReason, object };
      }),
    );
    const results = await Promise.all(runs);
    expect(results.filter((r) => !r.valid)).toEqual([]);
    expect(results.every((r) => r.finishReason === "stop")).toBe(true);
  });

  it("streamObject streams partial objects that end in a valid one", async () => {
    const schema = objectSchemas[8]![1];
    const result = streamObject({ model, schema, prompt: "An order.", ...sampled });
    let partials = 0;
    for await (const _partial of result.partialObjectStream) partials++;
    const object = await result.object;
    expect(schema.parse(object)).toEqual(object);
    expect(partials).toBeGreaterThan(1);
  });

  it("generateText with Output.object, and generateObject with a plain JSON schema", async () => {
    const schema = z.object({ city: z.string(), population: z.number().int() });
    const { output } = await generateText({
      model,
      prompt: "A city.",
      output: Output.object({ schema }),
      ...sampled,
    });
    expect(schema.parse(output)).toEqual(output);

    const plain = jsonSchema<{ answer: string; confidence: number }>({
      type: "object",
      properties: { answer: { type: "string", maxLength: 30 }, confidence: { type: "number" } },
      required: ["answer", "confidence"],
      additionalProperties: false,
    });
    const { object } = await generateObject({ model, schema: plain, prompt: "Answer.", ...sampled });
    expect(Object.keys(object).sort()).toEqual(["answer", "confidence"]);
    expect(typeof object.answer).toBe("string");
    expect(typeof object.confidence).toBe("number");
  });

  it("generateObject in no-schema JSON mode gives a JSON object", async () => {
    const { object } = await generateObject({ model, output: "no-schema", prompt: "Some JSON.", ...sampled });
    expect(typeof object).toBe("object");
    expect(object).not.toBeNull();
  });
});
