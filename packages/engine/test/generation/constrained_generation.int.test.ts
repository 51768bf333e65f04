// Constrained generation on the tiny random-weight models: unconstrained they write gibberish, so
// every output that parses and validates is the constraint's doing. JSON is checked with ajv,
// regex outputs with RegExp, grammar outputs with independent parsers.
import { Ajv2020 as Ajv } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";

import { Engine, WenxinError, type GenerateOptions, type GenerationResult } from "../../src/index.js";
import { DENSE_DIR, MOE_DIR } from "../../../../test/helpers/fixtures.js";
import { generateSchemas } from "./schema_generator.js";

const SETTINGS = [
  { temperature: 0 },
  { temperature: 0.7, topP: 0.9, seed: 11 },
  { temperature: 1.3, seed: 23 },
] as const;

function makeAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const dateOk = (s: string) =>
    /^\d{4}-\d{2}-\d{2}$/.test(s) && new Date(`${s}T00:00:00Z`).toISOString().slice(0, 10) === s;
  ajv.addFormat("date", dateOk);
  ajv.addFormat("date-time", (s: string) => dateOk(s.slice(0, 10)) && s[10] === "T" && !Number.isNaN(Date.parse(s)));
  ajv.addFormat("uuid", /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  ajv.addFormat("email", /^[^\s@]+@[^\s@]+\.[^\s@]+$/);
  return ajv;
}

/** Why a constrained JSON result is not a valid instance of `schema` ("" when it is). */
function jsonProblem(ajv: Ajv, schema: object, r: GenerationResult): string {
  if (r.finishReason !== "stop" || !r.constraint?.complete)
    return `ended ${r.finishReason}, complete=${r.constraint?.complete}`;
  if (r.text !== r.constraint.text) return "the text is not the constrained value";
  let value: unknown;
  try {
    value = JSON.parse(r.text);
  } catch (err) {
    return `does not parse: ${(err as Error).message}`;
  }
  return ajv.validate(schema, value) ? "" : `invalid: ${ajv.errorsText()}`;
}

describe("constrained generation (dense)", () => {
  let engine: Engine;
  const ajv = makeAjv();
  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512, kvCacheTokens: 64000 });
  });
  afterAll(() => engine?.close());

  it("60 generated JSON schemas × 3 sampling settings: every output parses and validates", async () => {
    const schemas = generateSchemas(60, 7);
    const runs = schemas.flatMap((schema, i) =>
      SETTINGS.map(async (s) => {
        const r = await engine
          .generate({ prompt: "Answer in JSON:", maxNewTokens: 128, ...s, constraint: { type: "json_schema", schema } })
          .result();
        return { i, s, schema, r, problem: jsonProblem(ajv, schema, r) };
      }),
    );
    const results = await Promise.all(runs);
    const failures = results
      .filter((x) => x.problem)
      .map((x) => `#${x.i} ${JSON.stringify(x.s)}: ${x.problem}\n${JSON.stringify(x.schema)}\n=> ${x.r.text}`);
    expect(failures).toEqual([]);
    expect(results).toHaveLength(180);
    // The outputs are the model's own draws within the grammar, not one canned value per schema.
    expect(new Set(results.map((x) => x.r.text)).size).toBeGreaterThan(120);
  });

  it("zod schemas through z.toJSONSchema: outputs pass zod's own parse", async () => {
    const Booking = z.object({
      city: z.string().describe("the city"),
      days: z.number().int().min(1).max(7),
      unit: z.enum(["c", "f"]).optional(),
      when: z.iso.date().nullable(),
      tags: z.array(z.string().max(10)).max(3),
      loc: z.object({ lat: z.number(), lon: z.number().min(-180).max(180) }),
      mode: z.union([z.literal("fast"), z.object({ steps: z.int().nonnegative() })]),
      email: z.email().optional(),
      id: z.uuid(),
      pair: z.tuple([z.string(), z.boolean()]),
    });
    const schema = z.toJSONSchema(Booking);
    const runs = SETTINGS.map((s) =>
      engine
        .generate({ prompt: "Book:", maxNewTokens: 256, ...s, constraint: { type: "json_schema", schema } })
        .result(),
    );
    for (const r of await Promise.all(runs)) {
      expect(r.constraint?.complete).toBe(true);
      const parsed = Booking.safeParse(JSON.parse(r.text));
      expect(parsed.success, `${r.text}\n${parsed.error?.message}`).toBe(true);
    }
  });

  it("json_object: any JSON object, across seeds and temperatures", async () => {
    const runs = [0, 1, 2, 3, 4, 5].map((seed) =>
      engine
        .generate({
          prompt: "{",
          maxNewTokens: 48,
          temperature: 0.5 + seed * 0.2,
          seed,
          constraint: { type: "json_object" },
        })
        .result(),
    );
    for (const r of await Promise.all(runs)) {
      expect(r.constraint).toMatchObject({ complete: true, triggered: true });
      const v = JSON.parse(r.text);
      expect(typeof v === "object" && v !== null && !Array.isArray(v), r.text).toBe(true);
    }
  });

  it.each([
    "\\d{3}-\\d{4}",
    "(cat|dog|bird)s?",
    "[A-Z][a-z]{2,6}( [A-Z][a-z]{2,6})?",
    "[\\u4e00-\\u9fff]{2,4}",
    "-?\\d{1,4}(\\.\\d{1,2})?",
    "0x[0-9a-f]{2,8}",
    "[a-z]+@[a-z]+\\.(com|cn)",
  ])("regex %s: every output matches", async (pattern) => {
    const re = new RegExp(`^(?:${pattern})$`, "u");
    const runs = SETTINGS.flatMap((s) => [s, { ...s, seed: 99 }]).map((s) =>
      engine.generate({ prompt: "Value:", maxNewTokens: 40, ...s, constraint: { type: "regex", pattern } }).result(),
    );
    for (const r of await Promise.all(runs)) {
      expect(re.test(r.text), JSON.stringify(r.text)).toBe(true);
      expect(r.constraint?.complete).toBe(true);
    }
  });

  it("GBNF: arithmetic expressions parse with an independent parser", async () => {
    const gbnf = `root ::= expr
expr ::= term (("+" | "-") term)*
term ::= factor (("*" | "/") factor)*
factor ::= [0-9]{1,3} | "(" expr ")"`;
    const runs = [0, 1, 2, 3, 4, 5, 6, 7].map((seed) =>
      engine
        .generate({
          prompt: "2+2=",
          maxNewTokens: 40,
          temperature: seed === 0 ? 0 : 1.2,
          seed,
          constraint: { type: "grammar", gbnf },
        })
        .result(),
    );
    for (const r of await Promise.all(runs)) {
      expect(r.constraint?.complete).toBe(true);
      expect(isArithmetic(r.text), r.text).toBe(true);
    }
  });

  it("GBNF: key=value lines and a Chinese list", async () => {
    const cases = [
      { gbnf: 'root ::= line{1,3}\nline ::= [a-z]{1,8} "=" [0-9]{1,4} "\\n"', re: /^([a-z]{1,8}=[0-9]{1,4}\n){1,3}$/ },
      {
        gbnf: 'root ::= "清单：" item ("、" item){0,3} "。"\nitem ::= [\\u4e00-\\u9fff]{1,3}',
        re: /^清单：[\u4e00-\u9fff]{1,3}(、[\u4e00-\u9fff]{1,3}){0,3}。$/u,
      },
    ];
    for (const { gbnf, re } of cases) {
      const runs = SETTINGS.map((s) =>
        engine.generate({ prompt: "List:", maxNewTokens: 48, ...s, constraint: { type: "grammar", gbnf } }).result(),
      );
      for (const r of await Promise.all(runs)) expect(re.test(r.text), JSON.stringify(r.text)).toBe(true);
    }
  });

  it("stop ids are masked until the value is complete, and the value ends the generation", async () => {
    // Every token but the byte pieces (ids 32..287) is declared a stop id: the grammar text can then
    // only be written byte by byte, and no stop id may end it early.
    const stopTokenIds = Array.from({ length: engine.tokenizer.vocabSize }, (_, i) => i).filter(
      (i) => i < 32 || i > 287,
    );
    const r = await engine
      .generate({
        prompt: "x",
        maxNewTokens: 20,
        temperature: 0,
        stopTokenIds,
        constraint: { type: "regex", pattern: "abc|abd" },
      })
      .result();
    expect(r.text).toMatch(/^ab[cd]$/);
    expect(r.tokenIds.every((t) => t >= 32 && t <= 287)).toBe(true);
    expect(r).toMatchObject({ finishReason: "stop", completionTokens: 3 });
  });

  it("a grammar whose only output is empty ends the generation before any token", async () => {
    const r = await engine
      .generate({ prompt: "x", maxNewTokens: 5, temperature: 0, constraint: { type: "grammar", gbnf: 'root ::= ""' } })
      .result();
    expect(r).toMatchObject({ text: "", tokenIds: [], finishReason: "stop", constraint: { complete: true, text: "" } });
  });

  it("finishes the value within a tight token budget, and reports an unreachable one", async () => {
    const schema = {
      type: "object",
      properties: { a: { type: "string" }, b: { type: "array", items: { type: "string" } } },
      required: ["a", "b"],
    };
    // '{"a":"","b":[]}' is 15 bytes: any budget of at least 15 tokens ends with a complete value.
    for (const maxNewTokens of [15, 16, 24]) {
      const r = await engine
        .generate({ prompt: "x", maxNewTokens, temperature: 1, seed: 5, constraint: { type: "json_schema", schema } })
        .result();
      expect(jsonProblem(ajv, schema, r)).toBe("");
      expect(r.completionTokens).toBeLessThanOrEqual(maxNewTokens);
    }
    // 2 tokens cannot hold 15 bytes with this vocabulary (no piece is longer than 7 bytes of JSON).
    const short = await engine
      .generate({ prompt: "x", maxNewTokens: 2, temperature: 0, constraint: { type: "json_schema", schema } })
      .result();
    expect(short).toMatchObject({ finishReason: "length", constraint: { complete: false } });
  });

  it("a constrained request running with unconstrained ones leaves their outputs unchanged", async () => {
    const free: GenerateOptions[] = [
      { prompt: "Hello", maxNewTokens: 24, temperature: 0, stopTokenIds: [] },
      { prompt: "你好", maxNewTokens: 24, temperature: 1, seed: 3, stopTokenIds: [] },
      { prompt: "def f():", maxNewTokens: 24, temperature: 0.8, topK: 40, seed: 8, stopTokenIds: [] },
    ];
    const alone = [];
    for (const o of free) alone.push((await engine.generate(o).result()).tokenIds);
    const constrained = [
      engine
        .generate({ prompt: "JSON:", maxNewTokens: 30, temperature: 1, seed: 1, constraint: { type: "json_object" } })
        .result(),
      engine
        .generate({
          prompt: "n:",
          maxNewTokens: 30,
          temperature: 0,
          constraint: { type: "regex", pattern: "\\d+(,\\d+)*" },
        })
        .result(),
    ];
    const together = await Promise.all(free.map((o) => engine.generate(o).result()));
    expect(together.map((r) => r.tokenIds)).toEqual(alone);
    for (const r of await Promise.all(constrained)) expect(r.constraint?.complete).toBe(true);
  });

  it("rejects invalid constraints before generating, naming the offending part", () => {
    const bad: [GenerateOptions["constraint"], RegExp][] = [
      [
        { type: "json_schema", schema: { type: "object", properties: { age: { type: "integr" } } } },
        /constraint\.schema at #\/properties\/age\/type: unknown type/,
      ],
      [
        { type: "grammar", gbnf: 'root ::= item+\nitem ::= "a" | b' },
        /constraint\.gbnf line 2, column 16: rule 'b' is not defined/,
      ],
      [{ type: "regex", pattern: "(a|b" }, /constraint\.pattern column 1: this '\(' is never closed/],
    ];
    for (const [constraint, message] of bad) {
      expect(() => engine.generate({ prompt: "x", constraint })).toThrow(
        expect.objectContaining({ code: "ERR_WENXIN_INVALID_ARGUMENT", message: expect.stringMatching(message) }),
      );
    }
    const shapes = [
      { type: "json_schema" },
      { type: "xml", schema: {} },
      { type: "regex", pattern: "a", trigger: "" },
      { type: "json_schema", schema: [] },
    ];
    for (const constraint of shapes) {
      const err = (() => {
        try {
          engine.generate({ prompt: "x", constraint } as unknown as GenerateOptions);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(WenxinError);
      expect(err).toMatchObject({
        code: "ERR_WENXIN_INVALID_ARGUMENT",
        message: expect.stringContaining("constraint"),
      });
    }
  });
});

describe("constrained generation (MoE)", () => {
  it("generated schemas validate on the MoE model too", async () => {
    const engine = await Engine.load(MOE_DIR, { threads: 2, maxContext: 512, kvCacheTokens: 16000 });
    try {
      const ajv = makeAjv();
      const schemas = generateSchemas(12, 99);
      const runs = schemas.flatMap((schema) =>
        SETTINGS.slice(1).map(async (s) => ({
          schema,
          r: await engine
            .generate({ prompt: "JSON:", maxNewTokens: 96, ...s, constraint: { type: "json_schema", schema } })
            .result(),
        })),
      );
      const problems = (await Promise.all(runs)).map(({ schema, r }) => jsonProblem(ajv, schema, r)).filter(Boolean);
      expect(problems).toEqual([]);
    } finally {
      await engine.close();
    }
  });
});

/** expr := term (('+'|'-') term)*, term := factor (('*'|'/') factor)*, factor := 1-3 digits | '(' expr ')'. */
function isArithmetic(text: string): boolean {
  let i = 0;
  const factor = (): boolean => {
    if (text[i] === "(") {
      i++;
      if (!expr() || text[i] !== ")") return false;
      i++;
      return true;
    }
    const m = /^[0-9]{1,3}/.exec(text.slice(i));
    if (!m || /[0-9]/.test(text[i + m[0].length] ?? "")) return false;
    i += m[0].length;
    return true;
  };
  const chain = (item: () => boolean, ops: string): boolean => {
    if (!item()) return false;
    while (i < text.length && ops.includes(text[i])) {
      i++;
      if (!item()) return false;
    }
    return true;
  };
  const term = () => chain(factor, "*/");
  const expr = (): boolean => chain(term, "+-");
  return expr() && i === text.length;
}

describe("prepareVocabulary", () => {
  it("gives the sampler the vocabulary before the first constrained request, once", async () => {
    const engine = await Engine.load(DENSE_DIR, { threads: 1, maxContext: 256 });
    try {
      engine.prepareVocabulary();
      engine.prepareVocabulary(); // again: nothing to do
      const schema = { type: "object", properties: { a: { type: "integer" } }, required: ["a"] };
      const r = await engine
        .generate({
          prompt: "Answer in JSON:",
          maxNewTokens: 64,
          temperature: 0,
          constraint: { type: "json_schema", schema },
        })
        .result();
      expect(jsonProblem(makeAjv(), schema, r)).toBe("");
    } finally {
      await engine.close();
    }
    expect(() => engine.prepareVocabulary()).toThrow(WenxinError);
  });
});
