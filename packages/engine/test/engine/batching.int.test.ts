// Continuous batching: many requests on one engine (chunked prefill, waiting, preemption, prefix
// caching, cancellation) give exactly what each request gives alone, and leave no KV blocks behind.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine, type GenerationResult } from "../../src/index.js";
import { DENSE_DIR, loadGolden, MOE_DIR } from "../../../../test/helpers/fixtures.js";

/** Deterministic pseudo-random prompts of `length` tokens (ids inside the tiny vocabulary). */
function syntheticPrompt(seed: number, length: number): number[] {
  let x = seed * 2654435761 + 1;
  return Array.from({ length }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return 300 + (x % 2000);
  });
}

async function alone(engine: Engine, inputIds: number[], maxNewTokens: number): Promise<number[]> {
  return (await engine.generate({ inputIds, maxNewTokens, temperature: 0, stopTokenIds: [] }).result()).tokenIds;
}

describe.each([
  ["dense", DENSE_DIR, "tiny-ernie45-dense"],
  ["moe", MOE_DIR, "tiny-ernie45-moe"],
] as const)("%s", (_, dir, model) => {
  it("16 concurrent greedy requests of different lengths produce exactly what each produces alone", async () => {
    // A small step budget splits the longer prompts into chunks that share steps with other requests' decodes.
    const engine = await Engine.load(dir, { threads: 2, maxContext: 1024, maxBatchTokens: 48 });
    try {
      const golden = Object.values(loadGolden(model).json.prompts).map((p) => p.input_ids);
      const prompts = Array.from({ length: 16 }, (_, i) =>
        i < golden.length ? golden[i]! : syntheticPrompt(i, 5 + i * 13),
      );
      const maxNew = prompts.map((_, i) => 6 + (i % 5) * 3);
      const solo: number[][] = [];
      for (let i = 0; i < prompts.length; i++) solo.push(await alone(engine, prompts[i]!, maxNew[i]!));
      const stepsBefore = engine.stats().steps;
      const together = await Promise.all(
        prompts.map((p, i) =>
          engine.generate({ inputIds: p, maxNewTokens: maxNew[i]!, temperature: 0, stopTokenIds: [] }).result(),
        ),
      );
      expect(together.map((r) => r.tokenIds)).toEqual(solo);
      // Batched: far fewer steps than the requests' tokens one at a time.
      const stats = engine.stats();
      expect(stats.steps - stepsBefore).toBeLessThan(maxNew.reduce((a, b) => a + b, 0));
      expect(stats).toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0 });
    } finally {
      await engine.close();
    }
  });

  it("a chunked prefill of the 700-token prompt gives the golden greedy continuation", async () => {
    const engine = await Engine.load(dir, { threads: 2, maxContext: 1024, maxBatchTokens: 64 });
    try {
      const long = loadGolden(model).json.prompts.long!;
      expect(await alone(engine, long.input_ids, long.greedy_new_ids.length)).toEqual(long.greedy_new_ids);
    } finally {
      await engine.close();
    }
  });
});

describe("under a tight KV budget", () => {
  it("decoding sequences that outgrow the cache are preempted and recomputed, with unchanged outputs", async () => {
    // 6 blocks of 32 tokens; four requests of 30 + 60 tokens (3 blocks each) are admitted together, then must
    // take turns. The prefix cache is off, so each resumed request really recomputes its tokens.
    const engine = await Engine.load(DENSE_DIR, {
      threads: 2,
      maxContext: 256,
      kvCacheTokens: 192,
      prefixCaching: false,
    });
    try {
      const prompts = [1, 2, 3, 4].map((i) => syntheticPrompt(100 + i, 30));
      const solo: number[][] = [];
      for (const p of prompts) solo.push(await alone(engine, p, 60));
      const together = await Promise.all(prompts.map((p) => alone(engine, p, 60)));
      expect(together).toEqual(solo);
      const stats = engine.stats();
      expect(stats.preemptions).toBeGreaterThan(0);
      expect(stats).toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0, kvBlocksCached: 0 });
    } finally {
      await engine.close();
    }
  });
});

describe("prefix caching", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512 });
  });
  afterAll(() => engine?.close());

  it("a shared prefix is reused, visible in stats, and gives the same output as a miss", async () => {
    const system = syntheticPrompt(7, 100); // three full blocks of 32
    const question = syntheticPrompt(8, 9);
    const noCache = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512, prefixCaching: false });
    let reference: number[];
    try {
      reference = await alone(noCache, [...system, ...question], 12);
      expect(noCache.stats().prefixCacheHitTokens).toBe(0);
    } finally {
      await noCache.close();
    }
    const before = engine.stats().prefixCacheHitTokens;
    const miss = await alone(engine, [...system, ...question], 12);
    expect(engine.stats().prefixCacheHitTokens).toBe(before);
    expect(engine.stats().kvBlocksCached).toBeGreaterThan(0); // the released blocks stay cached
    const hit = await alone(engine, [...system, ...question], 12);
    expect(engine.stats().prefixCacheHitTokens - before).toBe(96);
    expect(miss).toEqual(reference);
    expect(hit).toEqual(reference);

    // Another question after the same system prompt reuses its three blocks as well.
    const other = syntheticPrompt(9, 20);
    const otherHit = await alone(engine, [...system, ...other], 8);
    expect(engine.stats().prefixCacheHitTokens - before).toBe(192);
    const fresh = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512, prefixCaching: false });
    try {
      expect(otherHit).toEqual(await alone(fresh, [...system, ...other], 8));
    } finally {
      await fresh.close();
    }
  });

  it("a chat that grows one turn at a time reuses the previous turns, generated tokens included", async () => {
    const turn1 = syntheticPrompt(21, 40);
    const reply1 = await alone(engine, turn1, 40);
    const before = engine.stats().prefixCacheHitTokens;
    const turn2 = [...turn1, ...reply1, ...syntheticPrompt(22, 10)];
    const reply2 = await alone(engine, turn2, 8);
    // 80 tokens of the first turn were cached: two full blocks (64 tokens).
    expect(engine.stats().prefixCacheHitTokens - before).toBe(64);
    const fresh = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512, prefixCaching: false });
    try {
      expect(reply2).toEqual(await alone(fresh, turn2, 8));
    } finally {
      await fresh.close();
    }
  });

  it("cached blocks are evicted least recently used first when the budget needs them", async () => {
    // 4 blocks of 32. `a` (70 + 8 tokens) leaves its two full prompt blocks cached; `b` needs three
    // blocks, so one cached block must go: the least recently released, a's first. Without it, a's
    // second block is unreachable, so a's rerun hits nothing (evicting a's second block instead would
    // leave a 32-token hit).
    const small = await Engine.load(DENSE_DIR, { threads: 1, maxContext: 128, kvCacheTokens: 128 });
    try {
      const a = syntheticPrompt(31, 70);
      const b = syntheticPrompt(32, 70);
      const refA = await alone(small, a, 8);
      expect(small.stats()).toMatchObject({ kvBlocksUsed: 0, kvBlocksCached: 2, prefixCacheHitTokens: 0 });
      await alone(small, b, 8);
      expect(small.stats()).toMatchObject({ kvBlocksUsed: 0, kvBlocksCached: 3, prefixCacheHitTokens: 0 });
      expect(await alone(small, a, 8)).toEqual(refA);
      expect(small.stats().prefixCacheHitTokens).toBe(0);
    } finally {
      await small.close();
    }
  });
});

describe("100 mixed requests with random cancellations", () => {
  it("leaves zero blocks in use, and every request that was not cancelled is unchanged", async () => {
    const engine = await Engine.load(MOE_DIR, { threads: 2, maxContext: 512, kvCacheTokens: 2048, maxBatchTokens: 96 });
    try {
      const shapes = Array.from({ length: 10 }, (_, i) => ({
        prompt: syntheticPrompt(50 + i, 4 + i * 17),
        maxNew: 4 + (i % 4) * 6,
      }));
      const solo: number[][] = [];
      for (const s of shapes) solo.push(await alone(engine, s.prompt, s.maxNew));

      let rng = 12345;
      const random = () => (rng = (rng * 1103515245 + 12345) % 2147483648) / 2147483648;
      const runs = Array.from({ length: 100 }, (_, i) => {
        const shape = i % shapes.length;
        const controller = new AbortController();
        const cancelAfter = random() < 0.3 ? Math.floor(random() * shapes[shape]!.maxNew) : -1; // -1: never
        const stream = engine.generate({
          inputIds: shapes[shape]!.prompt,
          maxNewTokens: shapes[shape]!.maxNew,
          temperature: 0,
          stopTokenIds: [],
          signal: controller.signal,
        });
        const done = (async (): Promise<GenerationResult | "cancelled"> => {
          try {
            let seen = 0;
            if (cancelAfter === 0) controller.abort();
            for await (const ev of stream) {
              if (ev.type === "done") return ev;
              seen += ev.tokenIds.length;
              if (cancelAfter > 0 && seen >= cancelAfter) controller.abort();
            }
            throw new Error("no result");
          } catch (err) {
            if ((err as { code?: string }).code === "ERR_WENXIN_ABORTED") return "cancelled";
            throw err;
          }
        })();
        return { shape, cancelAfter, done };
      });
      const results = await Promise.all(runs.map((r) => r.done));
      let cancelled = 0;
      results.forEach((r, i) => {
        if (r === "cancelled") {
          cancelled++;
          expect(runs[i]!.cancelAfter).toBeGreaterThanOrEqual(0);
        } else {
          expect(r.tokenIds).toEqual(solo[runs[i]!.shape]);
        }
      });
      expect(cancelled).toBeGreaterThan(10);
      // Cancellations reach the engine thread between steps: wait for it to apply the last ones.
      for (let i = 0; i < 100 && engine.stats().running + engine.stats().waiting > 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0 });
    } finally {
      await engine.close();
    }
  });
});

describe("slow consumers and logprobs", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512 });
  });
  afterAll(() => engine?.close());

  it("a stream nobody reads does not hold back the others, and finishes unchanged once read", async () => {
    const prompt = syntheticPrompt(61, 12);
    const soloLong = await alone(engine, prompt, 400);
    const unread = engine.generate({ inputIds: prompt, maxNewTokens: 400, temperature: 0, stopTokenIds: [] });
    const other = await alone(engine, syntheticPrompt(62, 12), 300);
    expect(other.length).toBe(300);
    expect((await unread.result()).tokenIds).toEqual(soloLong);
  });

  it("logprobs are the log-softmax of the model's logits, with the most likely alternatives", async () => {
    const prompt = loadGolden("tiny-ernie45-dense").json.prompts.chat!.input_ids;
    const stream = engine.generate({
      inputIds: prompt,
      maxNewTokens: 5,
      temperature: 0,
      stopTokenIds: [],
      logprobs: 3,
    });
    const ids: number[] = [];
    const lps: { tokenId: number; logprob: number; top: { tokenId: number; logprob: number }[] }[] = [];
    for await (const ev of stream)
      if (ev.type === "token") {
        ids.push(...ev.tokenIds);
        lps.push(...(ev.logprobs ?? []));
      }
    expect(lps.length).toBe(ids.length);
    const logits = await engine.logits([...prompt, ...ids.slice(0, -1)]);
    const V = engine.config.hparams.vocabSize;
    lps.forEach((lp, i) => {
      const row = logits.subarray((prompt.length - 1 + i) * V, (prompt.length + i) * V);
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0));
      expect(lp.tokenId).toBe(ids[i]);
      expect(lp.logprob).toBeCloseTo(row[ids[i]!]! - lse, 4);
      expect(lp.top.length).toBe(3);
      expect(lp.top[0]!.tokenId).toBe(ids[i]); // greedy picks the most likely token
      const sorted = [...row]
        .map((v, id) => ({ id, v }))
        .sort((a, b) => b.v - a.v)
        .slice(0, 3);
      expect(lp.top.map((t) => t.tokenId)).toEqual(sorted.map((s) => s.id));
      lp.top.forEach((t, j) => expect(t.logprob).toBeCloseTo(sorted[j]!.v - lse, 4));
    });
  });

  it("refuses more than 20 alternatives", () => {
    expect(() => engine.generate({ prompt: "x", maxNewTokens: 2, logprobs: 21 })).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_INVALID_ARGUMENT" }),
    );
  });
});
