// Per-token log-probabilities through the official `openai` client: the values are the engine's
// log-softmax of the raw logits, checked against the golden logits (completions) and against the
// engine's own forward pass (chat), in OpenAI's shapes, the same streamed and not.
import type OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";

import type { WenxinTokenizer } from "@wenxin/engine";
import { type ChatMessage } from "@wenxin/engine";

import { TokenSpelling } from "../src/routes/logprobs.js";
import { loadGolden } from "../../../test/helpers/fixtures.js";
import { chatPromptIds } from "./helpers/expected.js";
import { MODEL_ID, postJson, useDenseServer } from "./helpers/test_server.js";

let tokenizer: WenxinTokenizer;

const MESSAGES: ChatMessage[] = [{ role: "user", content: "你好，介绍一下你自己" }];

const ctx = useDenseServer();
beforeAll(() => {
  tokenizer = ctx.engine.tokenizer;
});

/** log-softmax of `row` at `id`. */
function logSoftmaxAt(row: Float32Array, id: number): number {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  return row[id]! - max - Math.log(sum);
}

describe("chat.completions logprobs", () => {
  it("gives each generated token its logprob, bytes and the top alternatives", async () => {
    const res = await ctx.client.chat.completions.create({
      model: MODEL_ID,
      messages: MESSAGES as never,
      temperature: 0,
      max_tokens: 10,
      logprobs: true,
      top_logprobs: 3,
    });
    const choice = res.choices[0]!;
    const content = choice.logprobs!.content!;
    expect(content).toHaveLength(res.usage!.completion_tokens);
    for (const entry of content) {
      expect(entry.top_logprobs).toHaveLength(3);
      const tops = entry.top_logprobs.map((t) => t.logprob);
      expect([...tops].sort((a, b) => b - a)).toEqual(tops);
      // greedy: the chosen token is the likeliest one
      expect(entry.top_logprobs[0]).toEqual({ token: entry.token, logprob: entry.logprob, bytes: entry.bytes });
      expect(entry.logprob).toBeLessThanOrEqual(0);
    }
    // The first token's logprob is the log-softmax of the engine's own logits after the prompt.
    const promptIds = chatPromptIds(ctx.engine, MESSAGES);
    const vocab = ctx.engine.config.hparams.vocabSize;
    const logits = await ctx.engine.logits(promptIds);
    const last = logits.subarray((promptIds.length - 1) * vocab, promptIds.length * vocab);
    let best = 0;
    for (let i = 1; i < vocab; i++) if (last[i]! > last[best]!) best = i;
    expect(content[0]!.token).toBe(TokenSpelling.of(tokenizer).spell(best).token);
    expect(content[0]!.logprob).toBeCloseTo(logSoftmaxAt(last, best), 4);
  });

  it("streams the same entries, each with the chunk that carries its text", async () => {
    const body = {
      model: MODEL_ID,
      messages: MESSAGES as never,
      temperature: 0,
      max_tokens: 10,
      logprobs: true,
      top_logprobs: 2,
    } as const;
    const whole = await ctx.client.chat.completions.create(body);
    const stream = await ctx.client.chat.completions.create({ ...body, stream: true });
    const streamed: OpenAI.ChatCompletionTokenLogprob[] = [];
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (c?.logprobs?.content) streamed.push(...c.logprobs.content);
    }
    expect(streamed).toEqual(whole.choices[0]!.logprobs!.content);
  });

  it("is absent unless asked for, and validates top_logprobs", async () => {
    const plain = await ctx.client.chat.completions.create({
      model: MODEL_ID,
      messages: MESSAGES as never,
      temperature: 0,
      max_tokens: 2,
    });
    expect(plain.choices[0]!.logprobs).toBeNull();
    const zero = await ctx.client.chat.completions.create({
      model: MODEL_ID,
      messages: MESSAGES as never,
      temperature: 0,
      max_tokens: 2,
      logprobs: true,
    });
    expect(zero.choices[0]!.logprobs!.content!.map((e) => e.top_logprobs)).toEqual([[], []]);
    for (const [extra, param] of [
      [{ top_logprobs: 2 }, "top_logprobs"],
      [{ logprobs: true, top_logprobs: 21 }, "top_logprobs"],
      [{ logprobs: "yes" }, "logprobs"],
    ] as const) {
      const res = await postJson(`${ctx.srv.baseURL}/chat/completions`, {
        model: MODEL_ID,
        messages: MESSAGES,
        ...extra,
      });
      expect(res.status).toBe(400);
      expect(res.json.error).toMatchObject({ type: "invalid_request_error", code: "invalid_value", param });
    }
  });
});

describe("completions logprobs", () => {
  it("matches the golden logits: the first token's log-softmax, and every step's top-2 gap", async () => {
    const golden = loadGolden("tiny-ernie45-dense");
    const plain = golden.json.prompts.plain!;
    const res = await ctx.client.completions.create({
      model: MODEL_ID,
      prompt: plain.input_ids,
      max_tokens: 10,
      temperature: 0,
      logprobs: 2,
    });
    const lp = res.choices[0]!.logprobs!;
    expect(lp.tokens).toEqual(
      plain.greedy_new_ids.slice(0, 10).map((id) => TokenSpelling.of(tokenizer).spell(id).token),
    );
    const logits = golden.tensors.get("plain.logits")!;
    const vocab = logits.shape[1]!;
    const T = plain.input_ids.length;
    expect(lp.token_logprobs![0]).toBeCloseTo(
      logSoftmaxAt(logits.data.subarray((T - 1) * vocab, T * vocab), plain.greedy_new_ids[0]!),
      3,
    );
    for (let i = 0; i < 10; i++) {
      const top = Object.values(lp.top_logprobs![i]!).sort((a, b) => b - a);
      expect(top).toHaveLength(2); // greedy: the chosen token is among the top 2
      expect(lp.token_logprobs![i]).toBe(top[0]);
      const golds = plain.top5_per_step[i]!.logits;
      expect(top[0]! - top[1]!).toBeCloseTo(golds[0]! - golds[1]!, 3);
    }
    // offsets point into the returned text
    for (let i = 0; i < 10; i++) {
      const t = lp.tokens![i]!;
      if (!t.startsWith("bytes:") && !tokenizer.isSpecial(plain.greedy_new_ids[i]!))
        expect(res.choices[0]!.text.slice(lp.text_offset![i], lp.text_offset![i]! + t.length)).toBe(t);
    }
  });

  it("refuses logprobs with echo, and more than 5 alternatives", async () => {
    const echo = await postJson(`${ctx.srv.baseURL}/completions`, {
      model: MODEL_ID,
      prompt: "hi",
      logprobs: 1,
      echo: true,
    });
    expect(echo.status).toBe(400);
    expect(echo.json.error).toMatchObject({ code: "unsupported_parameter", param: "echo" });
    const many = await postJson(`${ctx.srv.baseURL}/completions`, { model: MODEL_ID, prompt: "hi", logprobs: 6 });
    expect(many.status).toBe(400);
    expect(many.json.error).toMatchObject({ code: "invalid_value", param: "logprobs" });
  });
});
