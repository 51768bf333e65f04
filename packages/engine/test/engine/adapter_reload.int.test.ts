// Reloading a LoRA adapter under the same name: prompts cached with the old weights are not reused
// (their K/V came from the old deltas), so the reloaded adapter gives what a fresh engine gives.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine } from "../../src/index.js";
import { DENSE_DIR, loadGolden } from "../../../../test/helpers/fixtures.js";
import { fixtureAdapter } from "../../../../test/helpers/lora.js";

// Over three KV blocks (32 tokens each), so a prefix-cache hit would cover most of the prompt.
const PROMPT = loadGolden("tiny-ernie45-dense").json.prompts.long!.input_ids.slice(0, 110);

/** Token ids, logprobs and top-5 alternatives of a short greedy continuation, flattened. */
async function firstLogprobs(engine: Engine, adapter: string): Promise<number[]> {
  const out: number[] = [];
  const stream = engine.generate({
    inputIds: PROMPT,
    maxNewTokens: 3,
    temperature: 0,
    stopTokenIds: [],
    logprobs: 5,
    adapter,
  });
  for await (const ev of stream)
    if (ev.type === "token")
      for (const lp of ev.logprobs ?? [])
        out.push(lp.tokenId, lp.logprob, ...lp.top.flatMap((t) => [t.tokenId, t.logprob]));
  expect(out.length).toBe(3 * 12);
  return out;
}

describe("adapter reload", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 256 });
  });
  afterAll(() => engine.close());

  it("drops the prefix-cache blocks computed with the adapter's old weights", async () => {
    await engine.loadAdapter("a", fixtureAdapter(1));
    const before = await firstLogprobs(engine, "a");
    const hits = engine.stats().prefixCacheHitTokens;
    await engine.loadAdapter("a", fixtureAdapter(6)); // same name, same native id, new deltas
    const after = await firstLogprobs(engine, "a");
    const fresh = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 256 });
    try {
      await fresh.loadAdapter("a", fixtureAdapter(6));
      const expected = await firstLogprobs(fresh, "a");
      expect(expected).not.toEqual(before);
      after.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
    } finally {
      await fresh.close();
    }
    expect(engine.stats().prefixCacheHitTokens).toBe(hits); // nothing of the old adapter was reused
  });

  it("still reuses the reloaded adapter's own prefixes, and the base model's", async () => {
    const hits = engine.stats().prefixCacheHitTokens;
    await firstLogprobs(engine, "a");
    expect(engine.stats().prefixCacheHitTokens).toBeGreaterThan(hits);
  });

  it("unloading forgets the adapter's blocks: the next adapter with its id starts clean", async () => {
    await engine.unloadAdapter("a");
    expect(engine.stats().kvBlocksCached).toBe(0);
  });
});
