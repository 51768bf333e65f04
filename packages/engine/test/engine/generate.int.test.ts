// engine.generate(): streaming, stop conditions, seeds, abort and concurrent requests.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine, type GenerationEvent } from "../../src/index.js";
import { DENSE_DIR, loadGolden, MOE_DIR } from "../../../../test/helpers/fixtures.js";

const golden = loadGolden("tiny-ernie45-dense").json.prompts;

async function collect(stream: AsyncIterable<GenerationEvent>): Promise<GenerationEvent[]> {
  const out: GenerationEvent[] = [];
  for await (const ev of stream) out.push(ev);
  return out;
}

describe("generate", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512 });
  });
  afterAll(() => engine?.close());

  it("streams token events whose text adds up to the result", async () => {
    const events = await collect(
      engine.generate({ inputIds: golden.chat!.input_ids, maxNewTokens: 20, temperature: 0, stopTokenIds: [] }),
    );
    const done = events.at(-1)!;
    expect(done.type).toBe("done");
    if (done.type !== "done") return;
    const tokens = events.filter((e) => e.type === "token");
    expect(tokens.length).toBeGreaterThan(1); // streamed, not all at once
    expect(tokens.flatMap((e) => e.tokenIds)).toEqual(done.tokenIds);
    expect(tokens.map((e) => e.text).join("")).toBe(done.text);
    expect(done.text).toBe(engine.tokenizer.decode(done.tokenIds, { skipSpecialTokens: true }));
    expect(done.tokenIds).toEqual(golden.chat!.greedy_new_ids.slice(0, 20));
    expect(done).toMatchObject({
      finishReason: "length",
      promptTokens: golden.chat!.input_ids.length,
      completionTokens: 20,
    });
  });

  it("renders messages with the chat template", async () => {
    const messages = [{ role: "user" as const, content: "你好，介绍一下文心4.5" }];
    const text = engine.applyChatTemplate(messages);
    expect(text.endsWith("Assistant: ")).toBe(true);
    const a = await engine.generate({ messages, maxNewTokens: 6, temperature: 0 }).result();
    const b = await engine
      .generate({ inputIds: engine.tokenizer.encode(text), maxNewTokens: 6, temperature: 0 })
      .result();
    expect(a.tokenIds).toEqual(b.tokenIds);
    expect(a.promptTokens).toBe(engine.tokenizer.encode(text).length);
  });

  it("stops on an end-of-sequence token and leaves it out of the text", async () => {
    // Declare a token that a seeded run produces later (not earlier) a stop token, and replay it.
    const opts = { inputIds: golden.plain!.input_ids, maxNewTokens: 8, temperature: 1, seed: 5 };
    const free = await engine.generate({ ...opts, stopTokenIds: [] }).result();
    const k = free.tokenIds.findIndex((t, i) => i > 0 && !free.tokenIds.slice(0, i).includes(t));
    expect(k).toBeGreaterThan(0);
    const r = await engine.generate({ ...opts, stopTokenIds: [free.tokenIds[k]!] }).result();
    expect(r.finishReason).toBe("stop");
    expect(r.tokenIds).toEqual(free.tokenIds.slice(0, k + 1));
    expect(r.text).toBe(engine.tokenizer.decode(r.tokenIds, { skipSpecialTokens: true }));
  });

  it("stops on a stop string, cutting the text before it, even when it spans tokens", async () => {
    const free = await engine
      .generate({ inputIds: golden.plain!.input_ids, maxNewTokens: 12, temperature: 0, stopTokenIds: [] })
      .result();
    // A stop string made of the end of one token's text and the start of the next.
    const t1 = engine.tokenizer.decode(free.tokenIds.slice(0, 4));
    const t2 = engine.tokenizer.decode(free.tokenIds.slice(0, 5));
    const stop = t1.slice(-1) + t2.slice(t1.length, t1.length + 1);
    const expectedText = free.text.slice(0, free.text.indexOf(stop));
    const events = await collect(
      engine.generate({ inputIds: golden.plain!.input_ids, maxNewTokens: 12, temperature: 0, stop: [stop] }),
    );
    const done = events.at(-1)!;
    expect(done).toMatchObject({ type: "done", finishReason: "stop", text: expectedText });
    const streamed = events
      .filter((e) => e.type === "token")
      .map((e) => e.text)
      .join("");
    expect(streamed).toBe(expectedText); // the partial stop string was never streamed
  });

  it("samples reproducibly with a seed, and differently with another", async () => {
    const opts = {
      inputIds: golden.chat!.input_ids,
      maxNewTokens: 16,
      temperature: 1.0,
      topK: 50,
      topP: 0.95,
      stopTokenIds: [],
    };
    const a = await engine.generate({ ...opts, seed: 1234 }).result();
    const b = await engine.generate({ ...opts, seed: 1234 }).result();
    const c = await engine.generate({ ...opts, seed: 99 }).result();
    expect(a.tokenIds).toEqual(b.tokenIds);
    expect(c.tokenIds).not.toEqual(a.tokenIds);
  });

  it("uses generation_config.json defaults (do_sample) when no option is given", async () => {
    expect(engine.generationDefaults).toMatchObject({ doSample: true, topP: 0.8, temperature: 0.8 });
    const opts = { inputIds: golden.chat!.input_ids, maxNewTokens: 12, stopTokenIds: [] };
    const sampled = await engine.generate({ ...opts, seed: 7 }).result();
    const greedy = await engine.generate({ ...opts, doSample: false }).result();
    expect(greedy.tokenIds).toEqual(golden.chat!.greedy_new_ids.slice(0, 12));
    expect(sampled.tokenIds).not.toEqual(greedy.tokenIds);
  });

  it("cancels by AbortSignal and keeps serving", async () => {
    const controller = new AbortController();
    const stream = engine.generate({
      prompt: "hello",
      maxNewTokens: 400,
      temperature: 0,
      stopTokenIds: [],
      signal: controller.signal,
    });
    let seen = 0;
    await expect(
      (async () => {
        for await (const ev of stream) {
          if (ev.type === "token" && ++seen === 3) controller.abort();
        }
      })(),
    ).rejects.toMatchObject({ code: "ERR_WENXIN_ABORTED" });
    expect(seen).toBe(3);
    const after = await engine
      .generate({ inputIds: golden.plain!.input_ids, maxNewTokens: 4, temperature: 0 })
      .result();
    expect(after.tokenIds).toEqual(golden.plain!.greedy_new_ids.slice(0, 4));
  });

  it("with a signal that never fires, iteration sees every event and result() still resolves", async () => {
    const controller = new AbortController();
    const stream = engine.generate({
      inputIds: golden.plain!.input_ids,
      maxNewTokens: 6,
      temperature: 0,
      stopTokenIds: [],
      signal: controller.signal,
    });
    const events = await collect(stream);
    expect(events.filter((e) => e.type === "token").flatMap((e) => (e.type === "token" ? e.tokenIds : []))).toEqual(
      golden.plain!.greedy_new_ids.slice(0, 6),
    );
    expect(events.at(-1)).toMatchObject({ type: "done", completionTokens: 6 });
  });

  it("refuses an already-aborted signal", () => {
    expect(() => engine.generate({ prompt: "x", signal: AbortSignal.abort() })).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_ABORTED" }),
    );
  });

  it("without maxNewTokens, ends with finishReason length at the context limit", async () => {
    const small = await Engine.load(DENSE_DIR, { threads: 1, maxContext: 20 });
    try {
      const r = await small.generate({ inputIds: golden.plain!.input_ids, temperature: 0, stopTokenIds: [] }).result();
      expect(r.finishReason).toBe("length");
      expect(r.promptTokens + r.completionTokens).toBe(20);
    } finally {
      await small.close();
    }
  });
});

describe("concurrent requests", () => {
  it.each([
    ["dense", DENSE_DIR, "tiny-ernie45-dense"],
    ["moe", MOE_DIR, "tiny-ernie45-moe"],
  ] as const)("%s: requests run together produce what each produces alone", async (_, dir, model) => {
    const engine = await Engine.load(dir, { threads: 2 });
    try {
      const prompts = Object.values(loadGolden(model).json.prompts).map((p) => p.input_ids);
      const opts = { maxNewTokens: 10, temperature: 0, stopTokenIds: [] };
      const alone = [];
      for (const p of prompts) alone.push((await engine.generate({ inputIds: p, ...opts }).result()).tokenIds);
      const together = await Promise.all(prompts.map((p) => engine.generate({ inputIds: p, ...opts }).result()));
      expect(together.map((r) => r.tokenIds)).toEqual(alone);
    } finally {
      await engine.close();
    }
  });
});
