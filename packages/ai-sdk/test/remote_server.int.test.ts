// Remote mode against a real `wenxin serve` (@wenxin/server in this process, on loopback): the
// same calls give what the in-process provider gives, so an app moves from laptop to server by
// setting `baseURL`.
import { embedMany, generateObject, generateText, streamText } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";

import { Engine } from "@wenxin/engine";
import { startServer, type WenxinServer } from "@wenxin/server";

import { createWenxin } from "../src/index.js";
import { DENSE_DIR } from "../../../test/helpers/fixtures.js";

(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

const LOAD = { threads: 2, maxContext: 1024 };
const local = createWenxin(LOAD);
let engine: Engine;
let server: WenxinServer;
let remote: ReturnType<typeof createWenxin>;

beforeAll(async () => {
  engine = await Engine.load(DENSE_DIR, LOAD);
  server = await startServer({
    model: engine,
    host: "127.0.0.1",
    port: 0,
    modelName: "tiny-dense",
    logLevel: "silent",
  });
  remote = createWenxin({ baseURL: `${server.url}/v1`, apiKey: "unused" });
});

afterAll(async () => {
  await server?.drain();
  await engine?.close();
  await local.close();
});

const greedy = { temperature: 0, maxOutputTokens: 20 } as const;
const call = { system: "You are concise.", prompt: "What is ERNIE?", ...greedy };

describe("remote mode against wenxin serve", () => {
  it("generateText gives the in-process provider's greedy text and usage", async () => {
    const [here, there] = await Promise.all([
      generateText({ model: local(DENSE_DIR), ...call }),
      generateText({ model: remote("tiny-dense"), ...call }),
    ]);
    expect(there.text).toBe(here.text);
    expect(there.usage.inputTokens).toBe(here.usage.inputTokens);
    expect(there.usage.outputTokens).toBe(here.usage.outputTokens);
    expect(there.finishReason).toBe(here.finishReason);
    expect(there.response.modelId).toBe("tiny-dense");
    expect((there.request.body as { model: string; stream: boolean }).model).toBe("tiny-dense");
  });

  it("streamText streams the same text", async () => {
    const whole = await generateText({ model: remote("tiny-dense"), ...call });
    const result = streamText({ model: remote("tiny-dense"), ...call });
    const types = new Set<string>();
    for await (const part of result.fullStream) types.add(part.type);
    expect(await result.text).toBe(whole.text);
    expect([...types]).toEqual(expect.arrayContaining(["text-start", "text-delta", "text-end", "finish"]));
  });

  it("a forced tool call and an object are valid: the server constrains them too", async () => {
    const schema = z.object({ city: z.string().max(20), days: z.number().int().min(1).max(7) });
    const sampled = { temperature: 0.8, seed: 4, maxOutputTokens: 64 };
    const { toolCalls } = await generateText({
      model: remote("tiny-dense"),
      prompt: "Forecast for Rome.",
      tools: { forecast: { description: "A forecast", inputSchema: schema } },
      toolChoice: { type: "tool", toolName: "forecast" },
      ...sampled,
    });
    expect(toolCalls).toHaveLength(1);
    expect(schema.parse(toolCalls[0]!.input)).toEqual(toolCalls[0]!.input);
    const { object } = await generateObject({ model: remote("tiny-dense"), schema, prompt: "A trip.", ...sampled });
    expect(schema.parse(object)).toEqual(object);
  });

  it("embedMany gives the in-process embeddings", async () => {
    const values = ["ERNIE", "文心", "Node.js"];
    const [here, there] = await Promise.all([
      embedMany({ model: local.embeddingModel(DENSE_DIR), values }),
      embedMany({ model: remote.embeddingModel("tiny-dense"), values }),
    ]);
    there.embeddings.forEach((v, i) => v.forEach((x, j) => expect(x).toBeCloseTo(here.embeddings[i]![j]!, 5)));
    expect(there.usage.tokens).toBe(here.usage.tokens);
  });
});
