// LangChain's ChatOpenAI and OpenAIEmbeddings pointed at the server (configuration.baseURL),
// compared with the engine's own output.
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { ChatOpenAI, OpenAIEmbeddings } from "@langchain/openai";
import { describe, expect, it } from "vitest";
import { z } from "zod";

import type { ChatMessage } from "@wenxin/engine";

import { expectedChat } from "./helpers/expected.js";
import { MODEL_ID, useDenseServer } from "./helpers/test_server.js";

const ctx = useDenseServer();

const MESSAGES: ChatMessage[] = [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "What is ERNIE?" },
];
const LC_MESSAGES = [new SystemMessage(MESSAGES[0]!.content), new HumanMessage(MESSAGES[1]!.content)];

function chatModel(fields: Record<string, unknown> = {}) {
  return new ChatOpenAI({
    model: MODEL_ID,
    apiKey: "unused",
    configuration: { baseURL: ctx.srv.baseURL },
    maxRetries: 0,
    ...fields,
  });
}

describe("ChatOpenAI", () => {
  it("invokes: seeded sampling gives the engine's text, with usage metadata", async () => {
    const want = await expectedChat(ctx.engine, MESSAGES, {
      temperature: 0.7,
      doSample: true,
      seed: 21,
      maxNewTokens: 10,
    });
    const reply = await chatModel({ temperature: 0.7, maxTokens: 10 }).invoke(LC_MESSAGES, { seed: 21 } as never);
    expect(reply.content).toBe(want.content);
    expect(reply.usage_metadata).toMatchObject({
      input_tokens: want.promptTokens,
      output_tokens: 10,
      total_tokens: want.promptTokens + 10,
    });
    expect(reply.response_metadata.finish_reason).toBe("length");
  });

  it("streams the same text in chunks", async () => {
    const want = await expectedChat(ctx.engine, MESSAGES, {
      temperature: 0.7,
      doSample: true,
      seed: 22,
      maxNewTokens: 10,
    });
    const stream = await chatModel({ temperature: 0.7, maxTokens: 10, streamUsage: true }).stream(LC_MESSAGES, {
      seed: 22,
    } as never);
    let text = "";
    let chunks = 0;
    let usage;
    for await (const chunk of stream) {
      text += chunk.content as string;
      chunks++;
      usage = chunk.usage_metadata ?? usage;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(text).toBe(want.content);
    expect(usage).toMatchObject({ input_tokens: want.promptTokens, output_tokens: 10 });
  });

  it("sends bound tools into the prompt and returns a well-formed message", async () => {
    const weather = {
      type: "function" as const,
      function: {
        name: "get_weather",
        description: "Current weather",
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      },
    };
    const want = await expectedChat(ctx.engine, MESSAGES, { temperature: 0, maxNewTokens: 6 }, { tools: [weather] });
    const reply = await chatModel({ temperature: 0, maxTokens: 6 }).bindTools([weather]).invoke(LC_MESSAGES);
    expect(reply.usage_metadata?.input_tokens).toBe(want.promptTokens);
    expect(reply.content).toBe(want.content);
    expect(reply.tool_calls).toEqual([]);
  });
});

describe("structured output requests", () => {
  it("accepts response_format json_schema exactly as ChatOpenAI sends it, and puts the schema in the prompt", async () => {
    // Capture the wire traffic: the full JSON validity of the answer is checked in
    // constrained.int.test.ts; here the request shape, the prompt and the constrained start.
    const exchanges: { request: any; status: number; response: any }[] = [];
    const recordingFetch = async (url: string, init: RequestInit) => {
      const res = await fetch(url, init);
      exchanges.push({
        request: JSON.parse(String(init.body)),
        status: res.status,
        response: await res.clone().json(),
      });
      return res;
    };
    const model = chatModel({
      temperature: 0,
      maxTokens: 4,
      configuration: { baseURL: ctx.srv.baseURL, fetch: recordingFetch },
    });
    const schema = z.object({ name: z.string().describe("a name"), age: z.number().int() });
    await model
      .withStructuredOutput(schema, { method: "jsonSchema" })
      .invoke(LC_MESSAGES)
      .catch(() => undefined);
    expect(exchanges).toHaveLength(1);
    const { request, status, response } = exchanges[0]!;
    expect(request.response_format).toMatchObject({
      type: "json_schema",
      json_schema: { name: "extract", strict: true, schema: { type: "object" } },
    });
    expect(status).toBe(200);
    const want = await expectedChat(
      ctx.engine,
      MESSAGES,
      { temperature: 0, maxNewTokens: 4 },
      { responseFormat: request.response_format },
    );
    expect(response.usage.prompt_tokens).toBe(want.promptTokens);
    // Constrained decoding is on: the 4 tokens start the JSON object, which free text would not.
    expect(response.choices[0].message.content).toMatch(/^\{"/);
    expect(want.content).not.toMatch(/^\{"/);
  });
});

describe("OpenAIEmbeddings", () => {
  it("embeds documents and queries as the engine does", async () => {
    const embeddings = new OpenAIEmbeddings({
      model: MODEL_ID,
      apiKey: "unused",
      configuration: { baseURL: ctx.srv.baseURL },
      maxRetries: 0,
    });
    const docs = ["文心一言", "LangChain.js"];
    const [want, got] = await Promise.all([ctx.engine.embed([...docs, "query"]), embeddings.embedDocuments(docs)]);
    expect(got.map((v) => Float32Array.from(v))).toEqual(want.slice(0, 2));
    expect(Float32Array.from(await embeddings.embedQuery("query"))).toEqual(want[2]);
  });
});
