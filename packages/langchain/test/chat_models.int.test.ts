// ChatWenxin on the bundled tiny model (random weights): every reply is compared with the
// engine's own output for the same prompt, seed and options, or forced by tool_choice.
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { StringOutputParser } from "@langchain/core/output_parsers";
import { ChatPromptTemplate } from "@langchain/core/prompts";
import { StructuredTool, tool } from "@langchain/core/tools";
import { toJsonSchema } from "@langchain/core/utils/json_schema";
import { Engine, type ChatMessage } from "@wenxin/engine";
import { formatToolCall, renderToolsBlock, type ToolDefinition } from "@wenxin/engine/internal";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";

import { ChatWenxin, closeSharedEngines, WenxinEmbeddings } from "../src/index.js";
import { DENSE_DIR, MOE_DIR } from "../../../test/helpers/fixtures.js";
import { direct, expectNoMarkup, SAMPLING } from "./helpers/engine_reference.js";

const adder = z
  .object({ a: z.number().describe("first addend"), b: z.number().describe("second addend") })
  .describe("Adds a and b");
const adderJson = toJsonSchema(adder) as Record<string, unknown>;
const { $schema: _draft, ...adderParameters } = adderJson;
const adderDef: ToolDefinition = {
  type: "function",
  function: { name: "add", description: "Adds a and b", parameters: adderParameters },
};

class AdderTool extends StructuredTool {
  name = "add";
  description = "Adds a and b";
  schema = adder;
  async _call({ a, b }: { a: number; b: number }) {
    return String(a + b);
  }
}

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 1024 });
});
afterAll(async () => {
  await engine?.close();
  await closeSharedEngines();
});

function chat(fields: Partial<ConstructorParameters<typeof ChatWenxin>[0]> = {}): ChatWenxin {
  return new ChatWenxin({ model: engine, ...SAMPLING, maxTokens: 12, ...fields });
}

describe("ChatWenxin on the engine: replies", () => {
  it("invokes: content, usage and metadata equal the engine's own generation", async () => {
    const reference = await direct(engine, [{ role: "user", content: "你好，介绍一下文心4.5" }], 12);
    expectNoMarkup(engine, reference);
    const msg = await chat().invoke("你好，介绍一下文心4.5");
    expect(msg).toBeInstanceOf(AIMessage);
    expect(msg.content).toBe(reference.text);
    expect(msg.usage_metadata).toEqual({
      input_tokens: reference.promptTokens,
      output_tokens: reference.completionTokens,
      total_tokens: reference.promptTokens + reference.completionTokens,
    });
    expect(msg.response_metadata).toMatchObject({
      model_provider: "wenxin",
      model: "tiny-ernie45-dense",
      finish_reason: reference.finishReason,
    });
    expect(msg.tool_calls).toEqual([]);
  });

  it("renders system messages, multi-turn history and list content as the template does", async () => {
    const conversation: ChatMessage[] = [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: "What is MoE?" },
      { role: "assistant", content: "Mixture of experts." },
      { role: "user", content: "And ERNIE 4.5?" },
    ];
    const reference = await direct(engine, conversation, 12);
    expectNoMarkup(engine, reference);
    const msg = await chat().invoke([
      new SystemMessage("You are a helpful assistant."),
      new HumanMessage({
        content: [
          { type: "text", text: "What is " },
          { type: "text", text: "MoE?" },
        ],
      }),
      new AIMessage({ content: [{ type: "text", text: "Mixture of experts." }] }),
      new HumanMessage("And ERNIE 4.5?"),
    ]);
    expect(msg.content).toBe(reference.text);
  });

  it("streams token chunks, with token callbacks, and usage on the last chunk", async () => {
    const reference = await direct(engine, [{ role: "user", content: "Hi" }], 12);
    expectNoMarkup(engine, reference);
    const tokens: string[] = [];
    const chunks: AIMessageChunk[] = [];
    for await (const c of await chat().stream("Hi", {
      callbacks: [{ handleLLMNewToken: (t: string) => void tokens.push(t) }],
    }))
      chunks.push(c);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((c) => c instanceof AIMessageChunk)).toBe(true);
    expect(chunks.map((c) => c.content).join("")).toBe(reference.text);
    expect(tokens.join("")).toBe(reference.text);
    expect(chunks.at(-1)!.usage_metadata).toMatchObject({
      input_tokens: reference.promptTokens,
      output_tokens: reference.completionTokens,
    });
    expect(chunks.reduce((a, b) => a.concat(b)).response_metadata).toMatchObject({
      model: "tiny-ernie45-dense",
      finish_reason: reference.finishReason,
    });
  });

  it("streams content-block events (streamEvents)", async () => {
    const reference = await direct(engine, [{ role: "user", content: "Hi" }], 12);
    const message = await chat().streamEvents("Hi");
    expect(message.text).toBe(reference.text);
    expect(message.usage_metadata).toMatchObject({
      input_tokens: reference.promptTokens,
      output_tokens: reference.completionTokens,
    });
  });

  it("runs a batch concurrently through the engine, each reply equal to its own invoke", async () => {
    const questions = ["你好", "What is ERNIE?", "1 + 1 = ?"];
    const expected = await Promise.all(questions.map((q) => direct(engine, [{ role: "user", content: q }], 12)));
    const submitted: number[] = [];
    const ended: number[] = [];
    const spy = vi.spyOn(engine, "generate");
    spy.mockImplementation(function (this: Engine, ...a) {
      submitted.push(performance.now());
      return Engine.prototype.generate.apply(engine, a);
    });
    const onEnd = BaseCallbackHandler.fromMethods({ handleLLMEnd: () => void ended.push(performance.now()) });
    try {
      const replies = await chat().batch(questions, { callbacks: [onEnd] });
      expect(replies.map((r) => r.content)).toEqual(expected.map((e) => e.text));
    } finally {
      spy.mockRestore();
    }
    expect(submitted).toHaveLength(3);
    // All three requests were in the engine before the first one finished.
    expect(Math.max(...submitted)).toBeLessThan(Math.min(...ended));
  });

  it("serves many instances from one engine, and from a shared directory engine", async () => {
    const a = await chat({ seed: 1 }).invoke("x");
    const b = await chat({ seed: 1, temperature: 0 }).invoke("x");
    expect(a.content).toBe((await direct(engine, [{ role: "user", content: "x" }], 12, { ...SAMPLING, seed: 1 })).text);
    expect(b.content).toBe((await direct(engine, [{ role: "user", content: "x" }], 12, { temperature: 0 })).text);
    const byDir1 = new ChatWenxin({ model: DENSE_DIR, load: { threads: 1, maxContext: 256 } });
    const byDir2 = new ChatWenxin({ model: DENSE_DIR, load: { maxContext: 256, threads: 1 } });
    const embeddings = new WenxinEmbeddings({ model: DENSE_DIR, load: { threads: 1, maxContext: 256 } });
    expect(await byDir1.getEngine()).toBe(await byDir2.getEngine());
    expect(byDir1.profile.maxInputTokens).toBe(256);
    expect((await embeddings.embedQuery("x")).length).toBe(128);
  });

  it("works in a prompt | model | parser chain, and on the MoE model", async () => {
    const reference = await direct(
      engine,
      [
        { role: "system", content: "Translate to French." },
        { role: "user", content: "cat" },
      ],
      12,
    );
    const chain = ChatPromptTemplate.fromMessages([
      ["system", "Translate to {language}."],
      ["human", "{text}"],
    ])
      .pipe(chat())
      .pipe(new StringOutputParser());
    expect(await chain.invoke({ language: "French", text: "cat" })).toBe(reference.text);

    const moe = await Engine.load(MOE_DIR, { threads: 2, maxContext: 256 });
    try {
      const moeReference = await direct(moe, [{ role: "user", content: "Hi" }], 8);
      expect((await new ChatWenxin({ model: moe, ...SAMPLING, maxTokens: 8 }).invoke("Hi")).content).toBe(
        moeReference.text,
      );
    } finally {
      await moe.close();
    }
  });
});

describe("ChatWenxin on the engine: stops, aborts and timeouts", () => {
  it("ends the reply before a stop sequence, given per call or in the constructor", async () => {
    const reference = await direct(engine, [{ role: "user", content: "Hi" }], 24);
    const stop = reference.text.slice(6, 8);
    const expected = reference.text.slice(0, reference.text.indexOf(stop));
    expect(expected.length).toBeGreaterThan(0);
    const perCall = await chat({ maxTokens: 24 }).invoke("Hi", { stop: [stop] });
    expect(perCall.content).toBe(expected);
    expect(perCall.response_metadata.finish_reason).toBe("stop");
    expect((await chat({ maxTokens: 24, stop: [stop] }).invoke("Hi")).content).toBe(expected);
  });

  it("aborts a running stream and keeps the engine serving", async () => {
    const controller = new AbortController();
    let seen = 0;
    const run = async () => {
      for await (const _ of await chat({ maxTokens: 500 }).stream("Hi", { signal: controller.signal }))
        if (++seen === 2) controller.abort();
    };
    await expect(run()).rejects.toThrow();
    expect(seen).toBeLessThan(10);
    const reference = await direct(engine, [{ role: "user", content: "Hi" }], 12);
    expect((await chat().invoke("Hi")).content).toBe(reference.text);
  });

  it("times out a call (per call, or the constructor's default)", async () => {
    await expect(chat({ maxTokens: 900 }).invoke("Hi", { timeout: 5 })).rejects.toThrow();
    await expect(chat({ maxTokens: 900, timeout: 5 }).invoke("Hi")).rejects.toThrow();
  });

  it("reports a prompt longer than the context with the engine's typed error", async () => {
    await expect(chat().invoke("文心".repeat(2000))).rejects.toMatchObject({ code: "ERR_WENXIN_CONTEXT_OVERFLOW" });
  });
});

describe("ChatWenxin on the engine: tools", () => {
  const question = [{ role: "user" as const, content: "What is 1 + 2?" }];

  it("renders the tools and a tool-message history (string content) into the prompt", async () => {
    const reference = await direct(
      engine,
      [
        { role: "system", content: renderToolsBlock([adderDef]) },
        ...question,
        { role: "assistant", content: formatToolCall("add", { a: 1, b: 2 }) },
        { role: "user", content: "<tool_response>\n3\n</tool_response>" },
      ],
      12,
    );
    expectNoMarkup(engine, reference);
    const msg = await chat()
      .bindTools([new AdderTool()])
      .invoke([
        new HumanMessage("What is 1 + 2?"),
        new AIMessage({
          content: "",
          tool_calls: [{ id: "call_1", name: "add", args: { a: 1, b: 2 }, type: "tool_call" }],
        }),
        new ToolMessage("3", "call_1", "add"),
      ]);
    expect(msg.content).toBe(reference.text);
  });

  it("renders a tool-message history with list content (Anthropic-style blocks)", async () => {
    const reference = await direct(
      engine,
      [
        { role: "system", content: renderToolsBlock([adderDef]) },
        ...question,
        { role: "assistant", content: `some text\n${formatToolCall("add", { a: 1, b: 2 })}` },
        { role: "user", content: "<tool_response>\n3\n</tool_response>" },
      ],
      12,
    );
    expectNoMarkup(engine, reference);
    const msg = await chat()
      .bindTools([adderDef])
      .invoke([
        new HumanMessage("What is 1 + 2?"),
        new AIMessage({
          content: [
            { type: "text", text: "some text" },
            { type: "tool_use", id: "call_1", name: "add", input: { a: 1, b: 2 } },
          ],
          tool_calls: [{ id: "call_1", name: "add", args: { a: 1, b: 2 }, type: "tool_call" }],
        }),
        new ToolMessage({ content: [{ type: "text", text: "3" }], tool_call_id: "call_1" }),
      ]);
    expect(msg.content).toBe(reference.text);
  });

  it("leaves the tools out of the prompt for tool_choice 'none'", async () => {
    const reference = await direct(engine, question, 12);
    expect((await chat().bindTools([new AdderTool()], { tool_choice: "none" }).invoke("What is 1 + 2?")).content).toBe(
      reference.text,
    );
  });

  it("passes the JSON-schema constraint of forced calls and structured output to the engine", async () => {
    const spy = vi.spyOn(engine, "generate");
    const constraints = () => spy.mock.calls.map((c) => (c[0] as { constraint?: unknown }).constraint);
    try {
      await chat().bindTools([new AdderTool()], { tool_choice: "add" }).invoke("1 + 2?");
      const clock = tool(async () => "", {
        name: "get_time",
        description: "Current time",
        schema: z.object({ zone: z.string() }),
      });
      await chat().bindTools([new AdderTool(), clock], { tool_choice: "any" }).invoke("?");
      await chat().withStructuredOutput(adder, { includeRaw: true }).invoke("1 + 2?");
      await chat().withStructuredOutput(adder, { method: "jsonMode", includeRaw: true }).invoke("1 + 2?");
      const [forced, any, jsonSchema, jsonMode] = constraints() as Record<string, unknown>[];
      expect(forced).toEqual({ type: "json_schema", schema: adderDef.function.parameters });
      expect(any).toMatchObject({
        type: "json_schema",
        schema: {
          anyOf: [{ properties: { name: { const: "add" } } }, { properties: { name: { const: "get_time" } } }],
        },
      });
      expect(jsonSchema).toEqual({ type: "json_schema", schema: adderJson });
      expect(jsonMode).toEqual({ type: "json_object" });
    } finally {
      spy.mockRestore();
    }
  });

  it("forces a call of a tool without arguments without generating anything", async () => {
    const now = tool(async () => "12:00", { name: "get_time", description: "Current time", schema: z.object({}) });
    const spy = vi.spyOn(engine, "generate");
    try {
      const msg = await chat()
        .bindTools([now, new AdderTool()], { tool_choice: "get_time" })
        .invoke("What time is it?");
      expect(msg.tool_calls).toEqual([
        { type: "tool_call", id: expect.stringMatching(/^call_/), name: "get_time", args: {} },
      ]);
      expect(msg.response_metadata.finish_reason).toBe("tool_calls");
      expect(msg.usage_metadata!.output_tokens).toBe(0);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});

describe("ChatWenxin on the engine: reasoning", () => {
  it("puts the output after an opened <think> into reasoning content", async () => {
    const reference = await direct(
      engine,
      `${engine.applyChatTemplate([{ role: "user", content: "Why?" }])}<think>\n`,
      12,
    );
    expectNoMarkup(engine, reference);
    const msg = await chat({ thinking: true }).invoke("Why?");
    expect(msg.content).toBe("");
    expect(msg.additional_kwargs.reasoning_content).toBe(reference.text);
    expect(msg.contentBlocks).toEqual([{ type: "reasoning", reasoning: reference.text }]);
    expect(msg.usage_metadata!.output_token_details?.reasoning).toBe(reference.completionTokens);
    // Per call, thinking can be switched back off.
    const plain = await direct(engine, [{ role: "user", content: "Why?" }], 12);
    expect((await chat({ thinking: true }).invoke("Why?", { thinking: false })).content).toBe(plain.text);
  });
});
