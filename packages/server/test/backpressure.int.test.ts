// A client that stops reading a stream (without disconnecting) slows its own generation down: the
// server waits for the response body to drain before taking the next engine event, so the engine
// pauses that request instead of the server buffering its whole answer. Reading again finishes it.
//
// The slow client is simulated at the response body: on loopback the kernel's socket buffers take
// several MB before a real socket pushes back, more than the tiny model's context can produce.
import { EventEmitter } from "node:events";
import type { PassThrough } from "node:stream";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Engine } from "@wenxin/engine";

import { AdmissionQueue } from "../src/admission.js";
import { BackgroundLane } from "../src/background_lane.js";
import { ServerMetrics } from "../src/metrics.js";
import { parseServerOptions } from "../src/options.js";
import { completionRequestSchema } from "../src/routes/completions/protocol.js";
import { CompletionsServing } from "../src/routes/completions/serving.js";
import { parseBody } from "../src/routes/validate.js";
import { ServedModel } from "../src/served_model.js";
import { StallWatch } from "../src/stall_watch.js";
import { loadDense, MODEL_ID } from "./helpers/test_server.js";

let engine: Engine;

beforeAll(async () => {
  engine = await loadDense();
});

afterAll(async () => {
  await engine?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A reply whose body nobody reads until `body` is consumed. */
function unreadReply() {
  const raw = Object.assign(new EventEmitter(), { writableFinished: false });
  const reply = {
    raw,
    body: undefined as PassThrough | undefined,
    code: () => reply,
    headers: () => reply,
    send: (body: PassThrough) => {
      reply.body = body;
      return reply;
    },
  };
  return reply;
}

describe("a client that does not read", () => {
  it("pauses its generation until it reads again", async () => {
    const MAX = 1500;
    const model = new ServedModel(MODEL_ID, engine, new AdmissionQueue(4, 4), { closeEngine: false });
    await model.ready;
    const serving = new CompletionsServing({
      model,
      metrics: new ServerMetrics(model),
      options: parseServerOptions({}),
      stalls: new StallWatch(0),
      background: new BackgroundLane(),
    });
    const reply = unreadReply();
    const before = engine.stats().generatedTokens;
    let settled = false;
    const handled = serving
      .handle(
        parseBody(completionRequestSchema, {
          model: MODEL_ID,
          prompt: "hello",
          max_tokens: MAX,
          temperature: 0,
          stream: true,
        }),
        { id: "slow" } as never,
        reply as never,
      )
      .finally(() => (settled = true));

    // Generation stalls: no new token over 300 ms, well before the end, with the request unfinished.
    let last = -1;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      const now = engine.stats().generatedTokens;
      if (now === last && now > before) break;
      last = now;
      await sleep(300);
    }
    const stalledAt = engine.stats().generatedTokens - before;
    expect(stalledAt).toBeGreaterThan(0);
    expect(stalledAt).toBeLessThan(MAX);
    expect(settled).toBe(false);
    expect(model.inFlightCount).toBe(1);
    // Paused, not dropped: out of the running set, its KV blocks given back until it is read again.
    expect(engine.stats()).toMatchObject({ paused: 1, running: 0, kvBlocksUsed: 0 });

    // Reading again lets it run to the end.
    let text = "";
    for await (const chunk of reply.body!) text += String(chunk);
    await handled;
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(text).toContain('"finish_reason":"length"');
    expect(engine.stats().generatedTokens - before).toBe(MAX);
    await expect
      .poll(() => engine.stats(), { timeout: 5000 })
      .toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0 });
  });
});
