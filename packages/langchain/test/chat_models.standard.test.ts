// LangChain's standard chat-model unit contract (the @langchain/standard-tests package is not
// published; these are the same checks): no model is loaded by any of them.
import { HumanMessage, type AIMessageChunk } from "@langchain/core/messages";
import { StructuredTool } from "@langchain/core/tools";
import { describe, expect, it } from "vitest";
import { z as z3 } from "zod/v3";
import { z } from "zod";

import { ChatWenxin } from "../src/index.js";

const person = z3
  .object({ name: z3.string().describe("Name of the person"), age: z3.number().int().positive() })
  .describe("A person");

class PersonTool extends StructuredTool {
  name = "PersonTool";
  description = "A person";
  schema = person;
  async _call(input: { name: string; age: number }) {
    return JSON.stringify(input);
  }
}

// The standard suite's constructor arguments, on a directory that is never loaded by these tests.
const args = {
  model: "/nonexistent/ERNIE-4.5-0.3B-PT",
  temperature: 0,
  maxTokens: 100,
  timeout: 60,
  stopSequences: [],
  maxRetries: 2,
};

describe("ChatWenxin: standard unit contract", () => {
  it("constructs with the standard arguments, an apiKey, or streaming: true", () => {
    expect(new ChatWenxin(args)).toBeDefined();
    expect(new ChatWenxin({ ...args, apiKey: "test" })).toBeDefined();
    expect(new ChatWenxin({ ...args, streaming: true })).toBeDefined();
  });

  it("keeps its constructor fields", () => {
    const fields = {
      model: "dir",
      temperature: 0.7,
      topP: 0.9,
      topK: 20,
      minP: 0.05,
      repetitionPenalty: 1.1,
      seed: 3,
      maxTokens: 64,
      stop: ["\n"],
      thinking: true,
    };
    const m = new ChatWenxin(fields);
    expect(m).toMatchObject(fields);
    expect(new ChatWenxin({ model: "dir", stopSequences: ["END"] }).stop).toEqual(["END"]);
    expect(m._llmType()).toBe("wenxin");
    expect(ChatWenxin.lc_name()).toBe("ChatWenxin");
  });

  it("rejects bad options with a typed error naming the option", () => {
    expect(() => new ChatWenxin({ model: "dir", topP: 2 })).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_INVALID_ARGUMENT", message: expect.stringContaining("'topP'") }),
    );
    expect(() => new ChatWenxin({ model: "" })).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_INVALID_ARGUMENT" }),
    );
    expect(() => new ChatWenxin({ model: "m", baseUrl: "not a url" })).toThrow(
      expect.objectContaining({ message: expect.stringContaining("'baseUrl'") }),
    );
  });

  it("binds a StructuredTool and makes a structured-output runnable (zod 3 and 4, JSON schema)", () => {
    const m = new ChatWenxin(args);
    expect(m.bindTools([new PersonTool()])).toBeDefined();
    expect(m.withStructuredOutput(person)).toBeDefined();
    expect(
      m.withStructuredOutput(z.object({ a: z.number() }), { method: "functionCalling", includeRaw: true }),
    ).toBeDefined();
    expect(
      m.withStructuredOutput({ type: "object", properties: { a: { type: "number" } } }, { method: "jsonMode" }),
    ).toBeDefined();
    expect(() => m.withStructuredOutput(person, { method: "xml" })).toThrow(/unknown structured output method/);
    expect(() => m.bindTools([{ description: "no name" }])).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_INVALID_ARGUMENT" }),
    );
  });

  it("reports exactly the standard LangSmith parameters", () => {
    const m = new ChatWenxin(args);
    const ls = m.getLsParams({} as never);
    expect(Object.keys(ls).sort()).toEqual([
      "ls_max_tokens",
      "ls_model_name",
      "ls_model_type",
      "ls_provider",
      "ls_stop",
      "ls_temperature",
    ]);
    expect(ls).toMatchObject({ ls_provider: "wenxin", ls_model_type: "chat", ls_temperature: 0, ls_max_tokens: 100 });
  });

  it("has a profile with its context length and capabilities", () => {
    const p = new ChatWenxin({ model: "dir", load: { maxContext: 2048 } }).profile;
    expect(p).toMatchObject({
      maxInputTokens: 2048,
      toolCalling: true,
      toolChoice: true,
      structuredOutput: true,
      reasoningOutput: true,
      imageInputs: false,
    });
    expect(
      new ChatWenxin({ model: "served", baseUrl: "http://localhost:1/v1" }).profile.maxInputTokens,
    ).toBeUndefined();
  });

  it("maps its options to OpenAI's request names", () => {
    const m = new ChatWenxin({ model: "dir", temperature: 0.5, topK: 5, maxTokens: 9, seed: 1 });
    expect(m.invocationParams({ stop: ["x"], tool_choice: "any", tools: [new PersonTool()] } as never)).toMatchObject({
      model: "dir",
      temperature: 0.5,
      top_k: 5,
      max_tokens: 9,
      seed: 1,
      stop: ["x"],
      tool_choice: "required",
      tools: [{ type: "function", function: { name: "PersonTool" } }],
    });
  });

  it("rejects invoke with an aborted signal", async () => {
    const m = new ChatWenxin(args);
    await expect(m.invoke([new HumanMessage("hello")], { signal: AbortSignal.abort() })).rejects.toThrow();
  });

  it("yields no chunks from stream with an aborted signal", async () => {
    const m = new ChatWenxin(args);
    const chunks: AIMessageChunk[] = [];
    let threw = false;
    try {
      for await (const c of await m.stream([new HumanMessage("hello")], { signal: AbortSignal.abort() }))
        chunks.push(c);
    } catch {
      threw = true;
    }
    expect(threw || chunks.length === 0).toBe(true);
    expect(chunks).toHaveLength(0);
  });

  it("fails a call on a missing checkpoint with the engine's typed error, and recovers on the next", async () => {
    const m = new ChatWenxin({ model: "/nonexistent/dir" });
    await expect(m.invoke("hi")).rejects.toMatchObject({ code: "ERR_WENXIN_FILE_NOT_FOUND" });
    await expect(m.invoke("hi")).rejects.toMatchObject({ code: "ERR_WENXIN_FILE_NOT_FOUND" });
  });
});
