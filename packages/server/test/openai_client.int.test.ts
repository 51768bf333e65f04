// The official `openai` npm client against a server on the tiny dense model. Every answer is
// compared with what the engine itself generates for the same prompt and sampling settings.
import OpenAI from "openai";
import { describe, expect, it } from "vitest";

import { type ChatMessage, WenxinTokenizer } from "@wenxin/engine";

import { DENSE_DIR, loadGolden } from "../../../test/helpers/fixtures.js";
import { chatPromptIds, expectedChat } from "./helpers/expected.js";
import { MODEL_ID, useDenseServer } from "./helpers/test_server.js";

const MESSAGES: ChatMessage[] = [
  { role: "system", content: "你是文心一言。" },
  { role: "user", content: "你好，介绍一下你自己" },
];

const ctx = useDenseServer();

describe("models", () => {
  it("lists and retrieves the served model", async () => {
    const list = await ctx.client.models.list();
    expect(list.data.map((m) => m.id)).toEqual([MODEL_ID]);
    expect(list.data[0]).toMatchObject({ object: "model", owned_by: "wenxin" });
    expect((await ctx.client.models.retrieve(MODEL_ID)).id).toBe(MODEL_ID);
    await expect(ctx.client.models.retrieve("gpt-4o")).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe("chat.completions", () => {
  it("answers greedily with the engine's own continuation and usage", async () => {
    const want = await expectedChat(ctx.engine, MESSAGES, { temperature: 0, maxNewTokens: 12 });
    const res = await ctx.client.chat.completions.create({
      model: MODEL_ID,
      messages: MESSAGES as never,
      temperature: 0,
      max_tokens: 12,
    });
    expect(res.object).toBe("chat.completion");
    expect(res.model).toBe(MODEL_ID);
    expect(res.choices).toHaveLength(1);
    expect(res.choices[0]!.message).toMatchObject({ role: "assistant", content: want.content });
    expect(res.choices[0]!.finish_reason).toBe(want.finishReason);
    expect(res.usage).toEqual({
      prompt_tokens: want.promptTokens,
      completion_tokens: 12,
      total_tokens: want.promptTokens + 12,
    });
  });

  it("streams the same text as deltas, with usage last when asked", async () => {
    const want = await expectedChat(ctx.engine, MESSAGES, { temperature: 0, maxNewTokens: 12 });
    const stream = await ctx.client.chat.completions.create({
      model: MODEL_ID,
      messages: MESSAGES as never,
      temperature: 0,
      max_completion_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe(want.content);
    const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finishes.map((c) => c.choices[0]!.finish_reason)).toEqual(["length"]);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({
      prompt_tokens: want.promptTokens,
      completion_tokens: 12,
      total_tokens: want.promptTokens + 12,
    });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it("reproduces seeded sampling, and gives choice k the seed + k", async () => {
    const [a, b] = await Promise.all([
      expectedChat(ctx.engine, MESSAGES, {
        temperature: 0.9,
        topP: 0.95,
        doSample: true,
        seed: 1234,
        maxNewTokens: 10,
      }),
      expectedChat(ctx.engine, MESSAGES, {
        temperature: 0.9,
        topP: 0.95,
        doSample: true,
        seed: 1235,
        maxNewTokens: 10,
      }),
    ]);
    const res = await ctx.client.chat.completions.create({
      model: MODEL_ID,
      messages: MESSAGES as never,
      temperature: 0.9,
      top_p: 0.95,
      seed: 1234,
      n: 2,
      max_tokens: 10,
    });
    expect(res.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(res.choices[0]!.message.content).toBe(a.content);
    expect(res.choices[1]!.message.content).toBe(b.content);
    expect(res.usage!.completion_tokens).toBe(20);
  });

  it("ends at a stop string, which is left out", async () => {
    // Seeded sampling: greedy output of the random model repeats one token.
    const full = await expectedChat(ctx.engine, MESSAGES, {
      temperature: 1,
      doSample: true,
      seed: 99,
      maxNewTokens: 12,
    });
    // The first two characters, from the second on, that do not occur earlier in the text.
    const at = [...full.content].findIndex((_, i) => i > 0 && full.content.indexOf(full.content.slice(i, i + 2)) === i);
    expect(at).toBeGreaterThan(0);
    const stop = full.content.slice(at, at + 2);
    const res = await ctx.client.chat.completions.create({
      model: MODEL_ID,
      messages: MESSAGES as never,
      temperature: 1,
      seed: 99,
      max_tokens: 12,
      stop: [stop],
    });
    expect(res.choices[0]!.message.content).toBe(full.content.slice(0, at));
    expect(res.choices[0]!.finish_reason).toBe("stop");
  });

  it("puts the tools into the prompt and reads a tool conversation", async () => {
    const tools = [
      {
        type: "function" as const,
        function: {
          name: "get_weather",
          description: "Weather of a city",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      },
    ];
    const turns: ChatMessage[] = [
      { role: "user", content: "北京天气怎么样？" },
      {
        role: "assistant",
        content: "",
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city": "北京"}' } },
        ],
      },
      { role: "tool", content: '{"temp": 21}', tool_call_id: "call_1" },
    ];
    const want = await expectedChat(ctx.engine, turns, { temperature: 0, maxNewTokens: 6 }, { tools });
    expect(want.promptTokens).toBeGreaterThan(chatPromptIds(ctx.engine, turns).length + 20);
    const res = await ctx.client.chat.completions.create({
      model: MODEL_ID,
      messages: turns as never,
      tools,
      temperature: 0,
      max_tokens: 6,
    });
    expect(res.usage!.prompt_tokens).toBe(want.promptTokens);
    expect(res.choices[0]!.message.content).toBe(want.content);
    // tool_choice "none" leaves the tools out of the prompt.
    const none = await ctx.client.chat.completions.create({
      model: MODEL_ID,
      messages: turns as never,
      tools,
      tool_choice: "none",
      max_tokens: 1,
    });
    expect(none.usage!.prompt_tokens).toBe(chatPromptIds(ctx.engine, turns).length);
  });

  it("returns thinking output as reasoning_content when thinking is switched on", async () => {
    const want = await expectedChat(ctx.engine, MESSAGES, { temperature: 0, maxNewTokens: 8 }, { thinking: true });
    expect(want.reasoning.length).toBeGreaterThan(0);
    const res = await ctx.client.chat.completions.create({
      model: MODEL_ID,
      messages: MESSAGES as never,
      temperature: 0,
      max_tokens: 8,
      chat_template_kwargs: { enable_thinking: true },
    } as never);
    const message = (res as OpenAI.ChatCompletion).choices[0]!.message as {
      content: string | null;
      reasoning_content?: string;
    };
    expect(message.reasoning_content).toBe(want.reasoning);
    expect(message.content).toBe(want.content);
  });

  it("raises the client's typed errors", async () => {
    await expect(
      ctx.client.chat.completions.create({ model: "gpt-4o", messages: MESSAGES as never }),
    ).rejects.toMatchObject({
      status: 404,
      code: "model_not_found",
    });
    const err = await ctx.client.chat.completions
      .create({ model: MODEL_ID, messages: MESSAGES as never, temperature: 3 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ status: 400, param: "temperature", type: "invalid_request_error" });
    await expect(
      ctx.client.chat.completions.create({ model: MODEL_ID, messages: MESSAGES as never, presence_penalty: 1 }),
    ).rejects.toMatchObject({
      status: 400,
      code: "unsupported_parameter",
      param: "presence_penalty",
    });
  });
});

describe("completions", () => {
  it("continues the golden prompt with the golden greedy tokens", async () => {
    const golden = loadGolden("tiny-ernie45-dense").json.prompts.plain!;
    const tokenizer = await WenxinTokenizer.fromDirectory(DENSE_DIR);
    const res = await ctx.client.completions.create({
      model: MODEL_ID,
      prompt: golden.input_ids,
      max_tokens: 10,
      temperature: 0,
    });
    expect(res.choices[0]!.text).toBe(
      tokenizer.decode(golden.greedy_new_ids.slice(0, 10), { skipSpecialTokens: true }),
    );
    expect(res.choices[0]!.finish_reason).toBe("length");
    expect(res.usage).toEqual({
      prompt_tokens: golden.input_ids.length,
      completion_tokens: 10,
      total_tokens: golden.input_ids.length + 10,
    });
  });

  it("streams the same text, one choice per prompt, and echoes when asked", async () => {
    const prompts = ["The capital of France", "文心一言是"];
    const whole = await ctx.client.completions.create({
      model: MODEL_ID,
      prompt: prompts,
      max_tokens: 6,
      temperature: 0,
    });
    expect(whole.choices.map((c) => c.index)).toEqual([0, 1]);
    const stream = await ctx.client.completions.create({
      model: MODEL_ID,
      prompt: prompts,
      max_tokens: 6,
      temperature: 0,
      stream: true,
    });
    const texts = ["", ""];
    for await (const chunk of stream) for (const c of chunk.choices) texts[c.index] += c.text;
    expect(texts).toEqual(whole.choices.map((c) => c.text));
    const echoed = await ctx.client.completions.create({
      model: MODEL_ID,
      prompt: prompts[0]!,
      max_tokens: 6,
      temperature: 0,
      echo: true,
    });
    expect(echoed.choices[0]!.text).toBe(prompts[0]! + whole.choices[0]!.text);
  });
});

describe("embeddings", () => {
  const texts = ["文心一言", "ERNIE 4.5 runs in Node.js", "a third sentence"];

  it("returns the engine's embeddings, in base64 (the client's default) and as floats", async () => {
    const want = await ctx.engine.embed(texts);
    const viaBase64 = await ctx.client.embeddings.create({ model: MODEL_ID, input: texts });
    const viaFloat = await ctx.client.embeddings.create({ model: MODEL_ID, input: texts, encoding_format: "float" });
    for (const res of [viaBase64, viaFloat]) {
      expect(res.data.map((d) => d.index)).toEqual([0, 1, 2]);
      res.data.forEach((d, i) => expect(Float32Array.from(d.embedding)).toEqual(want[i]));
    }
    const tokens = texts.reduce((n, t) => n + ctx.engine.tokenizer.encode(t).length, 0);
    expect(viaFloat.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
  });

  it("refuses dimensions the model does not have", async () => {
    await expect(ctx.client.embeddings.create({ model: MODEL_ID, input: "x", dimensions: 3 })).rejects.toMatchObject({
      status: 400,
      param: "dimensions",
    });
  });
});
