// Per-request cost is bounded before any work: a body at the size limit whose text cannot fit the
// context is refused without being tokenized (tokenizing it would hold the event loop for
// minutes), prompts × n count as that many sequences for admission, and the stop-string and
// embedding limits are server options.
import { describe, expect, it } from "vitest";

import { maxCharsOf } from "../src/routes/prompt_length.js";
import { type HealthSample, mainThreadCpuMs, probeHealth } from "./helpers/health_probe.js";
import {
  MODEL_ID,
  postJson,
  readRest,
  readUntil,
  startPost,
  startTestServer,
  useDenseServer,
} from "./helpers/test_server.js";

const ctx = useDenseServer({
  maxConcurrency: 4,
  maxStopStrings: 3,
  maxStopLength: 8,
  maxEmbeddingInputs: 4,
  maxEmbeddingTokens: 64,
});

/** Just under the 4 MiB body limit once wrapped in its JSON request. */
const HUGE = "hello world ".repeat(Math.floor((4 * 1024 * 1024 - 512) / 12));

async function timedPost(route: string, body: unknown) {
  const started = performance.now();
  const res = await fetch(`${ctx.srv.baseURL}/${route}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, json: (await res.json()) as any, ms: performance.now() - started };
}

describe("a 4 MiB text", () => {
  it.each([
    ["chat/completions", { model: MODEL_ID, messages: [{ role: "user", content: HUGE }] }, "messages"],
    ["completions", { model: MODEL_ID, prompt: HUGE }, "prompt"],
    ["embeddings", { model: MODEL_ID, input: HUGE }, "input[0]"],
  ])("is refused by /v1/%s before it is tokenized", async (route, body, param) => {
    const health: HealthSample[] = [];
    const probing = (async () => {
      for (let i = 0; i < 5; i++) health.push(await probeHealth(ctx.srv.url));
    })();
    const res = await timedPost(route, body);
    await probing;
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: "context_length_exceeded", param });
    expect(res.json.error.message).toMatch(/characters, more than \d+ tokens can hold/);
    // Parsing 4 MiB of JSON takes milliseconds; tokenizing it would take minutes.
    expect(res.ms).toBeLessThan(5000);
    // within 1 s of the event loop's own time (helpers/health_probe.ts)
    expect(Math.max(...health.map((h) => h.loopMs))).toBeLessThan(1000);
    expect(health.every((h) => h.status === 200)).toBe(true);
  });
});

describe("a text just under the character bound", () => {
  // It may fit the context, so it is tokenized (and refused after, having more tokens than the
  // context): up to maxContext × the longest piece in characters, hundreds of milliseconds of
  // encoding that must not run on the event loop.
  it.each([
    ["chat/completions", (text: string) => ({ model: MODEL_ID, messages: [{ role: "user", content: text }] })],
    ["completions", (text: string) => ({ model: MODEL_ID, prompt: text })],
  ])("is tokenized off the event loop by /v1/%s", async (route, body) => {
    const bound = maxCharsOf(ctx.engine, ctx.engine.maxContext);
    const text = "hello world ".repeat(Math.floor(bound / 12) - 8); // the chat template adds a few characters
    const payload = body(text);
    const health: HealthSample[] = [];
    let done = false;
    const probing = (async () => {
      while (!done) {
        health.push(await probeHealth(ctx.srv.url));
        await new Promise((r) => setTimeout(r, 100)); // each probe costs this thread's CPU too
      }
    })();
    const cpu0 = mainThreadCpuMs();
    const res = await timedPost(route, payload);
    const cpuMs = cpu0 === undefined ? undefined : mainThreadCpuMs()! - cpu0;
    done = true;
    await probing;
    expect(res.status).toBe(400);
    // refused on its token count, so it was tokenized
    expect(res.json.error).toMatchObject({ code: "context_length_exceeded" });
    expect(res.json.error.message).toMatch(/your prompt has \d+ tokens/);
    // Encoding it takes ~0.5-1 s of one CPU; the event loop's thread spent a small part of that
    // (the request's JSON, the template, the tokenizer thread's start on first use).
    if (cpuMs !== undefined) expect(cpuMs).toBeLessThan(250);
    expect(Math.max(...health.map((h) => h.loopMs))).toBeLessThan(250);
    expect(health.every((h) => h.status === 200)).toBe(true);
  });
});

describe("admission counts prompts × n", () => {
  it("refuses a request that alone needs more sequences than run at once, before tokenizing", async () => {
    const res = await postJson(`${ctx.srv.baseURL}/completions`, { model: MODEL_ID, prompt: [HUGE, "a", "b"], n: 2 });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: "too_many_sequences", param: "prompt" });
    const chat = await postJson(`${ctx.srv.baseURL}/chat/completions`, {
      model: MODEL_ID,
      messages: [{ role: "user", content: "hi" }],
      n: 5,
    });
    expect(chat.json.error).toMatchObject({ code: "too_many_sequences", param: "n" });
  });

  it("makes a request wait while another holds all the sequences", async () => {
    const admission = ctx.srv.server.model.admission;
    const first = await startPost(`${ctx.srv.baseURL}/completions`, {
      model: MODEL_ID,
      prompt: ["a", "b"],
      n: 2,
      max_tokens: 400,
      temperature: 0,
      stream: true,
    });
    const firstBody = await readUntil(first, (t) => t.includes("data: {"));
    expect(admission.runningSequences).toBe(4);
    const second = postJson(`${ctx.srv.baseURL}/completions`, { model: MODEL_ID, prompt: "c", max_tokens: 2 });
    await expect.poll(() => admission.queued).toBe(1);
    expect(admission.running).toBe(1);
    await readRest(firstBody);
    expect((await second).status).toBe(200);
    expect([admission.running, admission.queued]).toEqual([0, 0]);
  });
});

describe("stop strings", () => {
  const chat = (stop: string[]) => ({
    model: MODEL_ID,
    messages: [{ role: "user", content: "hi" }],
    max_tokens: 2,
    stop,
  });

  it("takes up to the server's count and length", async () => {
    expect((await postJson(`${ctx.srv.baseURL}/chat/completions`, chat(["a", "b", "12345678"]))).status).toBe(200);
  });

  it.each([
    ["chat/completions", chat(["a", "b", "c", "d"]), /at most 3/],
    ["chat/completions", chat(["a", "x".repeat(9)]), /string 1 has 9 characters; this server takes at most 8/],
    ["completions", { model: MODEL_ID, prompt: "hi", stop: ["x".repeat(1000)] }, /at most 8/],
  ])("refuses more or longer ones on /v1/%s", async (route, body, message) => {
    const res = await postJson(`${ctx.srv.baseURL}/${route}`, body);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ param: "stop", message: expect.stringMatching(message) });
  });
});

describe("embedding limits", () => {
  it("refuses more inputs, or more tokens, than the server's limits", async () => {
    const inputs = await postJson(`${ctx.srv.baseURL}/embeddings`, {
      model: MODEL_ID,
      input: ["a", "b", "c", "d", "e"],
    });
    expect(inputs.json.error).toMatchObject({ param: "input", message: expect.stringMatching(/at most 4$/) });
    const tokens = await postJson(`${ctx.srv.baseURL}/embeddings`, {
      model: MODEL_ID,
      input: ["hello world ".repeat(40)],
    });
    expect(tokens.json.error).toMatchObject({ param: "input", message: expect.stringMatching(/at most 64 tokens/) });
    const ok = await postJson(`${ctx.srv.baseURL}/embeddings`, { model: MODEL_ID, input: ["hello", "world"] });
    expect(ok.status).toBe(200);
  });

  it("counts one sequence per input for admission, at most all of them", async () => {
    const admission = ctx.srv.server.model.admission;
    // Two of the four slots held: three inputs wait for them, two do not.
    const hold = await admission.acquire(undefined, 2);
    expect((await postJson(`${ctx.srv.baseURL}/embeddings`, { model: MODEL_ID, input: ["d", "e"] })).status).toBe(200);
    const three = postJson(`${ctx.srv.baseURL}/embeddings`, { model: MODEL_ID, input: ["a", "b", "c"] });
    await expect.poll(() => admission.queued).toBe(1);
    hold();
    expect((await three).status).toBe(200);
    expect([admission.running, admission.queued]).toEqual([0, 0]);
  });

  it("takes a request with more inputs than run at once as all the slots, and does not refuse it", async () => {
    const two = await startTestServer(ctx.engine, { maxConcurrency: 2 });
    try {
      const admission = two.server.model.admission;
      const hold = await admission.acquire(undefined, 1);
      const five = postJson(`${two.baseURL}/embeddings`, { model: MODEL_ID, input: ["a", "b", "c", "d", "e"] });
      await expect.poll(() => admission.queued).toBe(1);
      hold();
      expect((await five).status).toBe(200);
    } finally {
      await two.stop();
    }
  });
});
