// Lazy constraints: the output is free until the trigger appears, then constrained. Triggers are
// taken from what seeded unconstrained runs of the tiny model actually write, so the free part of a
// constrained run can be compared with the unconstrained run token for token.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { tokenBytes } from "../../src/generation/token_bytes.js";
import { Engine, type GenerateOptions } from "../../src/index.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

const schema = {
  type: "object",
  properties: {
    name: { enum: ["search", "lookup"] },
    arguments: {
      type: "object",
      properties: { q: { type: "string", maxLength: 12 }, n: { type: "integer", minimum: 1, maximum: 20 } },
      required: ["q"],
    },
  },
  required: ["name", "arguments"],
  additionalProperties: false,
};

describe("lazy constraints (trigger)", () => {
  let engine: Engine;
  let bytesOf: (ids: number[]) => Buffer;
  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512, kvCacheTokens: 40000 });
    const vocab = tokenBytes(engine.tokenizer);
    bytesOf = (ids) =>
      Buffer.concat(ids.map((t) => Buffer.from(vocab.bytes.subarray(vocab.offsets[t], vocab.offsets[t + 1]))));
  });
  afterAll(() => engine?.close());

  /** The first k >= 3 where the text of tokens [k-2, k) first appears ending exactly at token k. */
  function triggerAt(ids: number[]): { k: number; trigger: string } | undefined {
    for (let k = 3; k < ids.length; k++) {
      const trigger = bytesOf(ids.slice(k - 2, k));
      const text = trigger.toString("utf8");
      if (text.length < 2 || text.includes("\uFFFD") || ids.slice(k - 2, k).some((t) => engine.tokenizer.isSpecial(t)))
        continue;
      if (bytesOf(ids).indexOf(trigger) + trigger.length === bytesOf(ids.slice(0, k)).length)
        return { k, trigger: text };
    }
    return undefined;
  }

  it.each([1, 2, 3, 4, 5])(
    "seed %i: free text up to a trigger the model writes, then a valid tool call",
    async (seed) => {
      const opts: GenerateOptions = { prompt: "Use a tool:", maxNewTokens: 80, temperature: 1, seed, stopTokenIds: [] };
      const free = await engine.generate({ ...opts, maxNewTokens: 20 }).result();
      const at = triggerAt(free.tokenIds);
      expect(at).toBeDefined();
      const { k, trigger } = at!;
      const r = await engine.generate({ ...opts, constraint: { type: "json_schema", schema, trigger } }).result();
      expect(r.tokenIds.slice(0, k)).toEqual(free.tokenIds.slice(0, k)); // unconstrained until the trigger
      expect(r.constraint).toMatchObject({ triggered: true, complete: true });
      expect(JSON.parse(r.constraint!.text)).toMatchObject({
        name: expect.stringMatching(/^(search|lookup)$/),
        arguments: { q: expect.any(String) },
      });
      expect(r.text).toBe(
        engine.tokenizer.decode(free.tokenIds.slice(0, k), { skipSpecialTokens: true }) + r.constraint!.text,
      );
      expect(r.finishReason).toBe("stop"); // the value's end ends the generation
    },
  );

  it("a special token the model writes works as a trigger", async () => {
    // Search seeded runs for a special token (not an end-of-sequence id) and use it as the trigger.
    const opts = (seed: number): GenerateOptions => ({
      prompt: "Call a tool:",
      maxNewTokens: 40,
      temperature: 1.5,
      seed,
      stopTokenIds: [],
    });
    const runs = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        engine
          .generate(opts(i + 1))
          .result()
          .then((r) => ({ seed: i + 1, r })),
      ),
    );
    const hit = runs
      .map(({ seed, r }) => ({
        seed,
        r,
        k: r.tokenIds.findIndex((t) => t > 2 && t < 32 && !engine.stopTokenIds.includes(t)),
      }))
      .find((x) => x.k >= 0);
    expect(hit).toBeDefined();
    const { seed, r: free, k } = hit!;
    const trigger = engine.tokenizer.idToToken(free.tokenIds[k]);
    expect(engine.tokenizer.isSpecial(free.tokenIds[k])).toBe(true);
    const r = await engine
      .generate({
        ...opts(seed),
        maxNewTokens: 120,
        constraint: { type: "regex", pattern: "[a-z]{2,6}\\(\\d{1,3}\\)", trigger },
      })
      .result();
    expect(r.tokenIds.slice(0, k + 1)).toEqual(free.tokenIds.slice(0, k + 1));
    expect(r.constraint).toMatchObject({ triggered: true, complete: true });
    expect(r.constraint!.text).toMatch(/^[a-z]{2,6}\(\d{1,3}\)$/);
    expect(r.text.endsWith(r.constraint!.text)).toBe(true);
  });

  it("rearm: each complete value waits for the trigger again, so one output holds several values", async () => {
    // Greedy runs of the random model fall into loops of one token X. With trigger X and the
    // value X, the constraint only confirms what the model writes anyway: the output is the free
    // run's, and every other X is a constrained value. Without rearm the first value ends it.
    const opts: GenerateOptions = { prompt: "Use tools:", maxNewTokens: 80, temperature: 0, stopTokenIds: [] };
    const free = await engine.generate(opts).result();
    const texts = free.tokenIds.map((t) => bytesOf([t]).toString("utf8"));
    const loop = texts.findIndex(
      (t, i) =>
        i > 0 &&
        t.length > 0 &&
        !t.includes("\uFFFD") &&
        texts.slice(i, i + 6).every((u) => u === t) &&
        texts[i - 1] !== t,
    );
    expect(loop).toBeGreaterThan(0);
    const x = texts[loop]!;
    const pattern = x.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    const r = await engine
      .generate({ ...opts, constraint: { type: "regex", pattern, trigger: x, rearm: true } })
      .result();
    expect(r.tokenIds).toEqual(free.tokenIds);
    expect(r.finishReason).toBe("length");
    const values = r.constraint!.text.split(x).length - 1;
    expect(r.constraint!.text).toBe(x.repeat(values));
    expect(values).toBeGreaterThanOrEqual(3);
    expect(r.constraint).toMatchObject({ triggered: true });

    const once = await engine.generate({ ...opts, constraint: { type: "regex", pattern, trigger: x } }).result();
    expect(once.constraint).toMatchObject({ triggered: true, complete: true, text: x });
    expect(once.finishReason).toBe("stop");
    expect(once.tokenIds.length).toBeLessThan(free.tokenIds.length);
  });

  it("rearm: after a value the output is free again, and generation ends as an unconstrained one does", async () => {
    let opts: GenerateOptions = { prompt: "", maxNewTokens: 60, temperature: 0, stopTokenIds: [] };
    let trigger: string | undefined;
    for (let i = 1; i <= 12 && trigger === undefined; i++) {
      opts = { ...opts, prompt: `Use tools ${i}:` };
      const free = await engine.generate({ ...opts, maxNewTokens: 30 }).result();
      trigger = free.tokenIds.map((t) => bytesOf([t]).toString("latin1")).find((t) => /^[A-Za-z]{3,}$/.test(t));
    }
    expect(trigger).toBeDefined();
    const r = await engine
      .generate({ ...opts, constraint: { type: "regex", pattern: "=[0-9]{2};", trigger: trigger!, rearm: true } })
      .result();
    const at = r.text.indexOf(`${trigger}=`);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(r.text.slice(at + trigger!.length)).toMatch(/^=[0-9]{2};./s); // free text after the value
    expect(r.constraint).toMatchObject({ triggered: true, complete: true });
    expect(r.finishReason).toBe("length");
  });

  it("without rearm the first value still ends the generation", async () => {
    const opts: GenerateOptions = { prompt: "Use a tool:", maxNewTokens: 80, temperature: 0, stopTokenIds: [] };
    const free = await engine.generate({ ...opts, maxNewTokens: 40 }).result();
    const trigger = (free.text.match(/[A-Za-z]{3,}/) ?? [""])[0];
    const r = await engine
      .generate({ ...opts, constraint: { type: "regex", pattern: "=[0-9]{2};", trigger } })
      .result();
    expect(r.constraint).toMatchObject({ triggered: true, complete: true });
    expect(r.text.endsWith(r.constraint!.text)).toBe(true);
    expect(r.finishReason).toBe("stop");
  });

  it("without the trigger the output stays free and the constraint reports it never started", async () => {
    const opts: GenerateOptions = {
      prompt: "Use a tool:",
      maxNewTokens: 24,
      temperature: 0.9,
      seed: 6,
      stopTokenIds: [],
    };
    const free = await engine.generate(opts).result();
    const r = await engine.generate({ ...opts, constraint: { type: "json_object", trigger: "@@never@@" } }).result();
    expect(r.tokenIds).toEqual(free.tokenIds);
    expect(r.constraint).toEqual({ triggered: false, text: "", complete: false });
  });

  it("a token that completes the trigger mid-token keeps its rest only if the grammar accepts it", async () => {
    // Greedy run; find a token of >= 2 ASCII letters whose first letter ends a trigger.
    const opts: GenerateOptions = { prompt: "def f():", maxNewTokens: 30, temperature: 0, stopTokenIds: [] };
    const free = await engine.generate(opts).result();
    let found: { k: number; trigger: string; rest: string } | undefined;
    for (let k = 2; k < free.tokenIds.length && !found; k++) {
      const tok = bytesOf([free.tokenIds[k]]).toString("latin1");
      if (!/^[A-Za-z]{2,}$/.test(tok)) continue;
      const trigger = bytesOf(free.tokenIds.slice(k - 1, k)).toString("latin1") + tok[0];
      if (!/^[\x20-\x7e]+$/.test(trigger)) continue;
      const all = bytesOf(free.tokenIds).toString("latin1");
      if (all.indexOf(trigger) + trigger.length === bytesOf(free.tokenIds.slice(0, k)).length + 1)
        found = { k, trigger, rest: tok.slice(1) };
    }
    expect(found).toBeDefined();
    const { k, trigger, rest } = found!;
    // The rest of the token suits the grammar: the same token is drawn and its rest starts the value.
    const ok = await engine
      .generate({ ...opts, constraint: { type: "regex", pattern: `${rest}[0-9]{1,3}`, trigger } })
      .result();
    expect(ok.tokenIds.slice(0, k + 1)).toEqual(free.tokenIds.slice(0, k + 1));
    expect(ok.constraint?.text).toMatch(new RegExp(`^${rest}[0-9]{1,3}$`));
    // It does not: that token is masked while waiting, so greedy decoding picks another one there.
    const banned = await engine
      .generate({ ...opts, constraint: { type: "regex", pattern: "[0-9]{3}", trigger } })
      .result();
    expect(banned.tokenIds.slice(0, k)).toEqual(free.tokenIds.slice(0, k));
    expect(banned.tokenIds[k]).not.toBe(free.tokenIds[k]);
    if (banned.constraint?.triggered) expect(banned.constraint.text).toMatch(/^[0-9]{3}$/);
  });
});
