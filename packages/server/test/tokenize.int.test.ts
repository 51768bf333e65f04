// /tokenize and /detokenize in vLLM's shapes: the ids are exactly those the generation routes use.
import { describe, expect, it } from "vitest";

import { chatPromptIds } from "./helpers/expected.js";
import { MODEL_ID, postJson, useDenseServer } from "./helpers/test_server.js";

const ctx = useDenseServer();

const MESSAGES = [
  { role: "system" as const, content: "你是文心一言。" },
  { role: "user" as const, content: "你好" },
];
const TOOLS = [
  {
    type: "function" as const,
    function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
  },
];

describe("/tokenize", () => {
  it("tokenizes a prompt, with the pieces when asked", async () => {
    const res = await postJson(`${ctx.srv.url}/tokenize`, {
      model: MODEL_ID,
      prompt: "你好 world",
      return_token_strs: true,
    });
    expect(res.status).toBe(200);
    const ids = ctx.engine.tokenizer.encode("你好 world", { addSpecialTokens: true });
    expect(res.json).toEqual({
      count: ids.length,
      max_model_len: ctx.engine.maxContext,
      tokens: ids,
      token_strs: ids.map((id) => ctx.engine.tokenizer.idToToken(id)),
    });
  });

  it("gives a conversation the ids the chat route uses, tools included", async () => {
    for (const tools of [undefined, TOOLS]) {
      const res = await postJson(`${ctx.srv.url}/tokenize`, { messages: MESSAGES, ...(tools && { tools }) });
      expect(res.json.tokens).toEqual(
        chatPromptIds(ctx.engine, MESSAGES, tools ? { tools: tools.map((t) => ({ ...t })) } : {}),
      );
      expect(res.json.token_strs).toBeNull();
      const chat = await postJson(`${ctx.srv.baseURL}/chat/completions`, {
        model: MODEL_ID,
        messages: MESSAGES,
        max_tokens: 1,
        ...(tools && { tools }),
      });
      expect(chat.json.usage.prompt_tokens).toBe(res.json.count);
    }
    const bare = await postJson(`${ctx.srv.url}/tokenize`, { messages: MESSAGES, add_generation_prompt: false });
    expect(bare.json.tokens).toEqual(
      ctx.engine.tokenizer.encode(ctx.engine.applyChatTemplate(MESSAGES, { addGenerationPrompt: false })),
    );
  });

  it("refuses another model's name and a text too long for the context", async () => {
    expect((await postJson(`${ctx.srv.url}/tokenize`, { model: "gpt-4o", prompt: "x" })).status).toBe(404);
    const long = await postJson(`${ctx.srv.url}/tokenize`, { prompt: "hello ".repeat(200_000) });
    expect(long.status).toBe(400);
    expect(long.json.error.code).toBe("context_length_exceeded");
  });
});

describe("/detokenize", () => {
  it("turns ids back into the text", async () => {
    const ids = ctx.engine.tokenizer.encode("你好 world");
    const res = await postJson(`${ctx.srv.url}/detokenize`, { model: MODEL_ID, tokens: ids });
    expect(res.json).toEqual({ prompt: "你好 world" });
  });

  it("names an id outside the vocabulary", async () => {
    const res = await postJson(`${ctx.srv.url}/detokenize`, { tokens: [1, 999_999] });
    expect(res.status).toBe(400);
    expect(res.json.error.param).toBe("tokens[1]");
  });
});
