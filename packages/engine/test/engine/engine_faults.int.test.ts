// A failure inside the engine thread ends only the request at fault: faults are injected at the
// sampling, constraint and adapter-loading sites through the addon's test-only `testing` entry
// (native/include/wenxin/testing.h). Before these guards an exception there ended the process.
// Request ids are the engine's own, counted from 1 per engine in submission order.
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";

import { Engine } from "../../src/index.js";
import { nativeAddon } from "../../src/native/binding.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";
import { fixtureAdapter } from "../../../../test/helpers/lora.js";

const testing = nativeAddon().testing;
const PROMPT = "Tell me about the sea";
const greedy = { prompt: PROMPT, maxNewTokens: 12, temperature: 0, stopTokenIds: [] };

let engine: Engine;
beforeEach(async () => {
  engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 256 });
});
afterEach(async () => {
  testing.clearFaults();
  await engine.close();
});
afterAll(() => testing.clearFaults());

async function settle(stream: ReturnType<Engine["generate"]>) {
  return stream.result().then(
    (r) => ({ ok: true as const, tokens: r.tokenIds }),
    (e: { code?: string; message: string }) => ({ ok: false as const, code: e.code, message: e.message }),
  );
}

describe("engine faults", () => {
  it("a sampling failure ends that request; the one beside it and later ones are unchanged", async () => {
    testing.injectFault("sampling", 2);
    const [a, b] = await Promise.all([settle(engine.generate(greedy)), settle(engine.generate(greedy))]);
    expect(b).toMatchObject({ ok: false, code: "ERR_WENXIN_INTERNAL" });
    expect(b.ok || b.message).toMatch(/sampling failed: injected fault at sampling \(2\)/);
    const alone = await settle(engine.generate(greedy));
    expect(a).toEqual(alone);
    expect(a.ok && a.tokens.length).toBe(12);
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0 });
  });

  it("a constraint failure ends that request only", async () => {
    testing.injectFault("constraint", 1);
    const [constrained, free] = await Promise.all([
      settle(engine.generate({ ...greedy, constraint: { type: "json_object" } })),
      settle(engine.generate(greedy)),
    ]);
    expect(constrained).toMatchObject({ ok: false, code: "ERR_WENXIN_INTERNAL" });
    expect(constrained.ok || constrained.message).toMatch(/injected fault at constraint \(1\)/);
    expect(free).toMatchObject({ ok: true });
    expect(free).toEqual(await settle(engine.generate(greedy)));
  });

  it("an adapter that fails to load is refused; generation goes on and the next load works", async () => {
    testing.injectFault("adapterLoad", 0); // the engine's first adapter id
    const running = settle(engine.generate({ ...greedy, maxNewTokens: 40 }));
    await expect(engine.loadAdapter("fixture", fixtureAdapter())).rejects.toMatchObject({
      code: "ERR_WENXIN_INTERNAL",
      message: expect.stringMatching(/loading the adapter failed: injected fault at adapter load/),
    });
    expect(engine.loadedAdapters).toEqual([]);
    expect(await running).toMatchObject({ ok: true });
    await engine.loadAdapter("fixture", fixtureAdapter());
    const adapted = await settle(engine.generate({ ...greedy, adapter: "fixture" }));
    expect(adapted).toMatchObject({ ok: true });
  });
});
