// The provider in process on the tiny dense model (random weights: the text is gibberish, so the
// checks are equality, validity and shape), driven through the real `ai` package.
import { embed, embedMany, generateText, streamText, type TextStreamPart, type ToolSet } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Engine } from "@wenxin/engine";
import { createWenxin } from "../src/index.js";
import { DENSE_DIR } from "../../../test/helpers/fixtures.js";

// Warnings are asserted where they matter, not logged.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

const wenxin = createWenxin({ threads: 2, maxContext: 1024 });
const model = wenxin(DENSE_DIR);
let engine: Engine;

beforeAll(async () => {
  engine = await model.engine();
});
afterAll(() => wenxin.close());

const greedy = { temperature: 0, maxOutputTokens: 24 } as const;

/** Waits until the engine has no running request (an aborted one ends at its next step). */
async function engineIdle(): Promise<void> {
  for (let i = 0; i < 200 && engine.stats().running + engine.stats().waiting > 0; i++)
    await new Promise((r) => setTimeout(r, 10));
}

describe("generateText / streamText", () => {
  it("generates greedy text with usage, finish reason and engine timings", async () => {
    const result = await generateText({ model, prompt: "What is ERNIE?", ...greedy });
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.finishReason).toBe("length");
    expect(result.usage.outputTokens).toBe(24);
    expect(result.usage.inputTokens).toBeGreaterThan(5);
    expect(result.usage.totalTokens).toBe(result.usage.inputTokens! + 24);
    expect(result.warnings).toEqual([]);
    const meta = result.providerMetadata!.wenxin as Record<string, any>;
    expect(meta.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(meta.totalMs).toBeGreaterThanOrEqual(meta.timeToFirstTokenMs);
    expect(meta.outputTokensPerSecond).toBeGreaterThan(0);
    expect(meta.engine).toMatchObject({ kvCache: "f32", kvBlocksTotal: expect.any(Number) });
    expect(result.response.modelId).toBe("tiny-ernie45-dense");
  });

  it("streams typed parts whose text equals the non-streamed greedy text", async () => {
    const call = {
      system: "You are terse.",
      messages: [{ role: "user" as const, content: "Name three rivers." }],
      ...greedy,
    };
    const whole = await generateText({ model, ...call });
    const result = streamText({ model, ...call });
    const parts: TextStreamPart<ToolSet>[] = [];
    for await (const part of result.fullStream) parts.push(part);
    const types = parts.map((p) => p.type);
    expect(types.slice(0, 3)).toEqual(["start", "start-step", "text-start"]);
    expect(types.slice(-3)).toEqual(["text-end", "finish-step", "finish"]);
    expect(types.filter((t) => t === "text-delta").length).toBeGreaterThan(1);
    expect(await result.text).toBe(whole.text);
    expect((await result.usage).outputTokens).toBe(whole.usage.outputTokens);
    expect(await result.finishReason).toBe("length");
    expect((await result.response).modelId).toBe(whole.response.modelId);
    const finish = parts.find((p) => p.type === "finish-step") as { providerMetadata?: Record<string, any> };
    expect(finish.providerMetadata?.wenxin.timeToFirstTokenMs).toBeGreaterThan(0);
  });

  it("passes seed, topP, topK and stop sequences to the engine", async () => {
    const sampled = { temperature: 0.9, topP: 0.9, topK: 40, seed: 5, maxOutputTokens: 16 };
    const a = await generateText({ model, prompt: "Tell me a story.", ...sampled });
    const b = await generateText({ model, prompt: "Tell me a story.", ...sampled });
    expect(b.text).toBe(a.text);
    const stop = a.text.slice(6, 9);
    const cut = await generateText({ model, prompt: "Tell me a story.", ...sampled, stopSequences: [stop] });
    expect(cut.text).toBe(a.text.slice(0, a.text.indexOf(stop)));
    expect(cut.finishReason).toBe("stop");
  });

  it("warns, and does not fail, for settings the engine ignores", async () => {
    const result = await generateText({ model, prompt: "Hi", ...greedy, presencePenalty: 0.5, frequencyPenalty: 0.5 });
    expect(result.warnings?.map((w) => (w.type === "other" ? w.message : w.feature))).toEqual([
      "presencePenalty",
      "frequencyPenalty",
    ]);
  });

  it("rejects a bad provider option with a typed error naming it", async () => {
    await expect(
      generateText({ model, prompt: "Hi", ...greedy, providerOptions: { wenxin: { minP: 3 } } }),
    ).rejects.toMatchObject({ code: "ERR_WENXIN_INVALID_ARGUMENT", message: expect.stringContaining("minP") });
    await expect(
      generateText({ model, prompt: "Hi", ...greedy, providerOptions: { wenxin: { nope: true } } }),
    ).rejects.toMatchObject({ code: "ERR_WENXIN_INVALID_ARGUMENT" });
  });

  it("streams reasoning parts from <think> when thinking is on", async () => {
    const result = streamText({
      model,
      prompt: "Think first: what is 2 + 2?",
      ...greedy,
      providerOptions: { wenxin: { thinking: true } },
    });
    const types = new Set<string>();
    let reasoning = "";
    for await (const part of result.fullStream) {
      types.add(part.type);
      if (part.type === "reasoning-delta") reasoning += part.text;
    }
    expect([...types]).toEqual(expect.arrayContaining(["reasoning-start", "reasoning-delta", "reasoning-end"]));
    expect(reasoning.length).toBeGreaterThan(0);
    expect(await result.reasoningText).toBe(reasoning);
    const whole = await generateText({
      model,
      prompt: "Think first: what is 2 + 2?",
      ...greedy,
      providerOptions: { wenxin: { thinking: true } },
    });
    expect(whole.reasoningText).toBe(reasoning);
    expect(whole.usage.outputTokenDetails.reasoningTokens).toBeGreaterThan(0);
  });

  it("aborting mid-stream frees the engine's sequence", async () => {
    const controller = new AbortController();
    const result = streamText({
      model,
      prompt: "Write a long essay.",
      temperature: 0,
      maxOutputTokens: 400,
      abortSignal: controller.signal,
    });
    let deltas = 0;
    let sawRunning = false;
    for await (const part of result.fullStream) {
      if (part.type === "text-delta" && ++deltas === 3) {
        sawRunning = engine.stats().running === 1;
        controller.abort();
      }
    }
    expect(sawRunning).toBe(true);
    await engineIdle();
    const stats = engine.stats();
    expect(stats.running).toBe(0);
    expect(stats.kvBlocksUsed).toBe(0);
    // The engine keeps serving.
    expect((await generateText({ model, prompt: "Still there?", ...greedy })).usage.outputTokens).toBe(24);
  });

  it("an engine failure mid-stream is an error part, and the step finishes with reason error", async () => {
    const own = createWenxin({ threads: 1, maxContext: 256 }); // an engine of its own, closed below
    const doomed = own(DENSE_DIR);
    const errors: unknown[] = [];
    const result = streamText({
      model: doomed,
      prompt: "Go on.",
      temperature: 0,
      maxOutputTokens: 200,
      onError: ({ error }) => void errors.push(error),
    });
    const types: string[] = [];
    for await (const part of result.fullStream) {
      types.push(part.type);
      if (part.type === "text-delta" && types.filter((t) => t === "text-delta").length === 2)
        await (await doomed.engine()).close();
    }
    expect(errors).toEqual([expect.objectContaining({ code: "ERR_WENXIN_ENGINE_CLOSED" })]);
    expect(types.slice(-3)).toEqual(["error", "finish-step", "finish"]);
    expect(await result.finishReason).toBe("error");
    await own.close();
  });

  it("16 concurrent streamText calls on one engine equal their solo greedy runs", async () => {
    const prompts = Array.from({ length: 16 }, (_, i) => `Question ${i}: ${"why ".repeat(i % 5)}is the sky blue?`);
    const short = { temperature: 0, maxOutputTokens: 16 };
    const solo: string[] = [];
    for (const prompt of prompts) solo.push((await generateText({ model, prompt, ...short })).text);
    let maxRunning = 0;
    const together = await Promise.all(
      prompts.map(async (prompt) => {
        const result = streamText({ model, prompt, ...short });
        let text = "";
        for await (const delta of result.textStream) {
          text += delta;
          maxRunning = Math.max(maxRunning, engine.stats().running);
        }
        return text;
      }),
    );
    expect(together).toEqual(solo);
    expect(maxRunning).toBeGreaterThan(1); // they really ran as one batch
  });
});

describe("embeddings", () => {
  const embedder = wenxin.embeddingModel(DENSE_DIR);

  it("embed and embedMany give the engine's unit vectors, with token usage", async () => {
    const texts = ["ERNIE runs in Node.js.", "文心一言", "The weather is fine."];
    const many = await embedMany({ model: embedder, values: texts });
    const direct = await engine.embed(texts);
    expect(many.embeddings).toHaveLength(3);
    many.embeddings.forEach((v, i) => {
      expect(v).toHaveLength(engine.config.hparams.hiddenSize);
      expect(Math.hypot(...v)).toBeCloseTo(1, 4);
      expect(v).toEqual(Array.from(direct[i]!));
    });
    expect(many.usage.tokens).toBe(texts.reduce((n, t) => n + engine.tokenizer.encode(t).length, 0));
    const one = await embed({ model: embedder, value: texts[1]! });
    expect(one.embedding).toEqual(many.embeddings[1]);
  });

  it("splits long lists at maxEmbeddingsPerCall and keeps their order", async () => {
    const small = wenxin.textEmbeddingModel(DENSE_DIR, { maxEmbeddingsPerCall: 2 });
    const texts = ["one", "two", "three", "four", "five"];
    const split = await embedMany({ model: small, values: texts });
    const whole = await embedMany({ model: embedder, values: texts });
    expect(split.embeddings).toEqual(whole.embeddings);
  });
});
