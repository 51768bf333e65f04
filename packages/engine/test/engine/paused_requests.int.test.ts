// A request whose stream is not read is paused by the engine (after 256 buffered events) and gives
// its running slot and KV blocks back, so clients that stop reading cannot starve the others; read
// again, it resumes (its published blocks mostly from the prefix cache) and finishes unchanged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine } from "../../src/index.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

const greedy = (prompt: string, maxNewTokens: number) => ({ prompt, maxNewTokens, temperature: 0, stopTokenIds: [] });

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 3000 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`timed out waiting until ${what}`);
}

describe("paused requests", () => {
  let engine: Engine;
  beforeAll(async () => {
    // Two running sequences at most: two readers that stop would take every slot.
    engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512, maxSequences: 2 });
  });
  afterAll(() => engine?.close());

  it("release their slot and KV blocks: a third request runs while two streams go unread", async () => {
    const [soloA, soloB] = [
      (await engine.generate(greedy("The first story", 300)).result()).tokenIds,
      (await engine.generate(greedy("A second story", 300)).result()).tokenIds,
    ];
    const a = engine.generate(greedy("The first story", 300));
    const b = engine.generate(greedy("A second story", 300));
    await until(() => engine.stats().paused === 2, "both unread streams are paused");
    expect(engine.stats()).toMatchObject({ running: 0, kvBlocksUsed: 0 });

    const third = await engine.generate(greedy("Meanwhile", 40)).result();
    expect(third.tokenIds).toHaveLength(40);

    // Read again: resumed, recomputed, and exactly what they would have been.
    expect((await a.result()).tokenIds).toEqual(soloA);
    expect((await b.result()).tokenIds).toEqual(soloB);
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, paused: 0, kvBlocksUsed: 0 });
  });

  it("pause() stops a request at once, with nothing buffered, and resume() lets it finish unchanged", async () => {
    const solo = (await engine.generate(greedy("Held by its reader", 200)).result()).tokenIds;
    const s = engine.generate(greedy("Held by its reader", 200));
    const iterator = s[Symbol.asyncIterator]();
    await iterator.next(); // it runs
    s.pause();
    await until(() => engine.stats().paused === 1, "the held request is paused");
    const heldAt = engine.stats().generatedTokens;
    await new Promise((r) => setTimeout(r, 200));
    expect(engine.stats().generatedTokens - heldAt).toBeLessThanOrEqual(2); // a step in flight at most
    expect(engine.stats()).toMatchObject({ running: 0, kvBlocksUsed: 0 });
    s.resume();
    expect((await s.result()).tokenIds).toEqual(solo);
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, paused: 0, kvBlocksUsed: 0 });
  });

  it("a paused request can still be cancelled", async () => {
    const controller = new AbortController();
    const s = engine.generate({ ...greedy("Cancel me", 300), signal: controller.signal });
    await until(() => engine.stats().paused === 1, "the unread stream is paused");
    controller.abort();
    await expect(s.result()).rejects.toMatchObject({ code: "ERR_WENXIN_ABORTED" });
    await until(() => engine.stats().paused === 0, "the cancelled request is gone");
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0 });
  });
});

describe("background work", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512, maxSequences: 2 });
  });
  afterAll(() => engine?.close());

  // A request once paused is background work (native/src/runtime/scheduler.h). Alone, it used to
  // run back to back on every engine thread, so on a small machine the event loop that reads,
  // tokenizes and submits new requests waited for a CPU behind it; now the engine rests after each
  // step of background work only, as long as the step took (any new work ends the rest at once).
  it("alone, rests as long as it computes", async () => {
    const solo = (await engine.generate(greedy("A story told in the background", 200)).result()).tokenIds;
    const s = engine.generate(greedy("A story told in the background", 200));
    const iterator = s[Symbol.asyncIterator]();
    await iterator.next();
    s.pause();
    await until(() => engine.stats().paused === 1, "the request is paused");
    const before = engine.stats();
    s.resume(); // background work from now on, and nothing else to run
    const started = performance.now();
    expect((await s.result()).tokenIds).toEqual(solo);
    const wallMs = performance.now() - started;
    const after = engine.stats();
    const steps = after.backgroundSteps - before.backgroundSteps;
    const stepMs = after.backgroundStepMs - before.backgroundStepMs;
    const restMs = after.backgroundRestMs - before.backgroundRestMs;
    expect(steps).toBeGreaterThan(100); // its recompute and the rest of its 200 tokens
    // Every background step but the last is followed by a rest at least as long (a rest ends early
    // only when work arrives, and none does; the last one's rest is reported after the next step).
    expect(restMs).toBeGreaterThanOrEqual(stepMs - after.lastStepMs - 0.01);
    expect(restMs + stepMs).toBeLessThanOrEqual(wallMs + 5);
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, paused: 0, kvBlocksUsed: 0 });
  });

  it("does not hold up a new request", async () => {
    // A rest ends when a request arrives: the new one runs beside the background work, and both finish.
    const s = engine.generate(greedy("Another story told in the background", 400));
    const iterator = s[Symbol.asyncIterator]();
    await iterator.next();
    s.pause();
    await until(() => engine.stats().paused === 1, "the request is paused");
    s.resume();
    const reader = s.result();
    await until(() => engine.stats().backgroundSteps > 0 && engine.stats().running === 1, "background work runs");
    const fresh = await engine.generate(greedy("Meanwhile", 8)).result();
    expect(fresh.tokenIds).toHaveLength(8);
    expect((await reader).tokenIds.length).toBe(400);
  });
});

describe("the engine's reports", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512 });
  });
  afterAll(() => engine?.close());

  // The engine hands each step's report to the event loop. It used to queue them without bound:
  // while the event loop was busy the engine ran on, and Node then handled up to a thousand queued
  // reports in one turn of the loop, holding every other request and /health for that long. It
  // now waits while two reports are not handled yet.
  it("never run more than two steps ahead of the event loop", async () => {
    const s = engine.generate(greedy("A long story", 400));
    const reader = s.result();
    await until(() => engine.stats().generatedTokens > 5, "it decodes");
    const before = engine.stats().steps;
    const until_ = performance.now() + 300;
    while (performance.now() < until_); // the event loop held for 300 ms, as a busy server's can be
    const during = engine.stats().steps - before;
    expect(during).toBeLessThanOrEqual(3); // the steps whose reports were queued, and one in flight
    expect((await reader).tokenIds).toHaveLength(400);
  });
});
