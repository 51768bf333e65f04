// The native matcher (grammarMatch) on compiled constraints, without a model: exactly the valid
// prefixes are accepted, checked against JavaScript's RegExp and JSON.parse where they apply.
import { Ajv2020 as Ajv } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";

import { compileConstraint, type Constraint } from "../../src/generation/constraint.js";
import { nativeAddon } from "../../src/native/binding.js";
import { rng } from "./schema_generator.js";

const utf8 = (s: string) => new TextEncoder().encode(s);

function run(c: Constraint, input: string | Uint8Array) {
  const g = compileConstraint(c);
  return nativeAddon().grammarMatch(g.rules, g.sets, typeof input === "string" ? utf8(input) : input);
}

/** The whole input is a complete output of the constraint. */
function matches(c: Constraint, input: string | Uint8Array): boolean {
  const bytes = typeof input === "string" ? utf8(input) : input;
  const r = run(c, bytes);
  return r.consumed === bytes.length && r.accepting;
}

describe("GBNF", () => {
  const arithmetic: Constraint = {
    type: "grammar",
    gbnf: `root ::= expr
expr ::= term (("+" | "-") term)*
term ::= factor (("*" | "/") factor)*
factor ::= [0-9]{1,3} | "(" expr ")"`,
  };

  it("accepts sentences, rejects non-sentences, and stops at the first bad byte", () => {
    for (const s of ["1", "1+2*(3-4)", "((7))", "12/3-(4+5)*6"]) expect(matches(arithmetic, s), s).toBe(true);
    for (const s of ["", "1+", "(1", "1++2", "1234", "()"]) expect(matches(arithmetic, s), s).toBe(false);
    expect(run(arithmetic, "1+(2")).toMatchObject({
      consumed: 4,
      accepting: false,
      canContinue: true,
      minCompletion: 1,
    });
    expect(run(arithmetic, "1+x")).toMatchObject({ consumed: 2 });
    expect(run(arithmetic, "123")).toMatchObject({ consumed: 3, accepting: true, canContinue: true });
  });

  it("reports when the output is complete and cannot continue", () => {
    const c: Constraint = { type: "grammar", gbnf: 'root ::= "yes" | "no" | "nope"' };
    expect(run(c, "no")).toMatchObject({ accepting: true, canContinue: true });
    expect(run(c, "yes")).toMatchObject({ accepting: true, canContinue: false });
    expect(run(c, "")).toMatchObject({ accepting: false, minCompletion: 2 });
  });

  it("matches characters as whole UTF-8 sequences and refuses malformed UTF-8", () => {
    const c: Constraint = { type: "grammar", gbnf: "root ::= [^a]+" };
    for (const s of ["é", "中文", "😀x", "\u{10ffff}"]) expect(matches(c, s), s).toBe(true);
    expect(matches(c, "ba")).toBe(false);
    for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0x80], [0xf5, 0x80, 0x80, 0x80], [0xe4, 0xb8]])
      expect(matches(c, Uint8Array.from(bad)), bad.join(",")).toBe(false);
  });
});

describe("regex", () => {
  const alphabet = ["a", "b", "c", "x", "0", "1", "9", "-", ".", "@", " ", "é", "中", "😀", "\n", "A", "Z", "_"];
  it.each([
    "[a-c]+-\\d{2,3}",
    "(ab|c)*x?",
    "[^\\s\\d]{1,4}",
    "\\w+@[a-z]+\\.(com|org)",
    "(-?\\d+(\\.\\d+)?|x)",
    "[\\u4e00-\\u9fff😀]{0,2}Z",
    ".{2}",
    "^a(b|\\.)c$",
  ])("%s: full matches agree with RegExp on random strings", (pattern) => {
    const js = new RegExp(`^(?:${pattern.replace(/^\^|\$$/g, "")})$`, "u");
    const c: Constraint = { type: "regex", pattern };
    const r = rng(pattern.length);
    for (let i = 0; i < 1500; i++) {
      const len = Math.floor(r() * 8);
      let s = "";
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(r() * alphabet.length)];
      expect(matches(c, s), JSON.stringify(s)).toBe(js.test(s));
    }
    for (const s of ["abc-12", "abab", "xy", "a@b.com", "-1.5", "中😀Z", "ab", "abc", "a.c"])
      expect(matches(c, s), s).toBe(js.test(s));
  });
});

describe("JSON", () => {
  it("json_object accepts JSON objects, compact or indented, and nothing else", () => {
    const c: Constraint = { type: "json_object" };
    const values = [
      {},
      { a: 1, b: [true, false, null], c: { d: 'e"\\\n\t\u0001é中😀', f: -0.5, g: 1e21 } },
      { list: [[], [{}], [1, 2.25, -3]], "key with space": "", 中: "文" },
    ];
    for (const v of values) {
      expect(matches(c, JSON.stringify(v))).toBe(true);
      expect(matches(c, JSON.stringify(v, null, 2))).toBe(true);
    }
    expect(matches(c, '{"a":"\\u00e9\\ud7ff\\/"}')).toBe(true);
    for (const bad of [
      "[1]",
      '"x"',
      '{"a":1,}',
      "{a:1}",
      '{"a":NaN}',
      '{"a":01}',
      '{"a":"\\x"}',
      '{"a":"\\ud800"}',
      '{"a":1} ',
      '{"a":"\u0001"}',
    ])
      expect(matches(c, bad), bad).toBe(false);
  });

  const tool = {
    type: "object",
    properties: {
      name: { const: "search_flights" },
      arguments: {
        type: "object",
        properties: {
          from: { type: "string", pattern: "^[A-Z]{3}$" },
          to: { type: "string", pattern: "^[A-Z]{3}$" },
          date: { type: "string", format: "date" },
          passengers: { type: "integer", minimum: 1, maximum: 9 },
          cabin: { enum: ["economy", "business"] },
          flexible: { type: "boolean" },
          stops: { type: "array", items: { type: "string", maxLength: 3 }, maxItems: 2 },
          note: { type: ["string", "null"] },
        },
        required: ["from", "to", "date"],
        additionalProperties: false,
      },
    },
    required: ["name", "arguments"],
    additionalProperties: false,
  };

  it("a JSON schema accepts valid instances and refuses invalid ones", () => {
    const c: Constraint = { type: "json_schema", schema: tool };
    const ok = (args: object) => JSON.stringify({ name: "search_flights", arguments: args });
    for (const args of [
      { from: "PEK", to: "SHA", date: "2025-02-28" },
      {
        from: "PEK",
        to: "SHA",
        date: "2024-12-31",
        passengers: 9,
        cabin: "business",
        flexible: false,
        stops: ["A", "BCD"],
        note: null,
      },
      { from: "PEK", to: "SHA", date: "2024-01-01", note: "靠窗" },
    ])
      expect(matches(c, ok(args)), ok(args)).toBe(true);
    for (const args of [
      { from: "PEK", to: "SHA" }, // date missing
      { from: "pek", to: "SHA", date: "2025-01-01" },
      { from: "PEK", to: "SHA", date: "2025-02-30" },
      { from: "PEK", to: "SHA", date: "2025-01-01", passengers: 10 },
      { from: "PEK", to: "SHA", date: "2025-01-01", cabin: "first" },
      { from: "PEK", to: "SHA", date: "2025-01-01", stops: ["A", "B", "C"] },
      { from: "PEK", to: "SHA", date: "2025-01-01", stops: ["ABCD"] },
      { from: "PEK", to: "SHA", date: "2025-01-01", extra: 1 },
      { to: "SHA", from: "PEK", date: "2025-01-01" }, // out of the schema's property order
    ])
      expect(matches(c, ok(args)), ok(args)).toBe(false);
    expect(
      matches(c, JSON.stringify({ name: "other", arguments: { from: "PEK", to: "SHA", date: "2025-01-01" } })),
    ).toBe(false);
  });

  it("integer bounds are exact", () => {
    const c: Constraint = { type: "json_schema", schema: { type: "integer", minimum: -37, maximum: 1204 } };
    for (let n = -1500; n <= 1500; n++) expect(matches(c, String(n)), String(n)).toBe(n >= -37 && n <= 1204);
  });

  it("additional properties never repeat a declared name", () => {
    const c: Constraint = {
      type: "json_schema",
      schema: { type: "object", properties: { note: { type: "string" } }, additionalProperties: { type: "integer" } },
    };
    expect(matches(c, '{"note":"x","n":1,"notes":2,"not":3}')).toBe(true);
    expect(matches(c, '{"note":"x","note":1}')).toBe(false);
    expect(matches(c, '{"a":1,"note":2}')).toBe(false);
  });
});

describe("patternProperties beside properties (issue 19)", () => {
  // "id" and "item" are declared; "^i" matches them too, so a pattern key could have repeated them
  // (JSON.parse keeps the last, which need not meet the declared schema).
  const schema = {
    type: "object",
    properties: { id: { type: "integer" }, item: { type: "integer", maximum: 5 } },
    required: ["id"],
    patternProperties: { "^i": { type: "integer", minimum: 0 } },
    additionalProperties: false,
  };
  const c: Constraint = { type: "json_schema", schema };
  const ajv = new Ajv({ strict: false });

  it("never writes a declared property's key again, and holds declared values to the pattern's schema too", () => {
    const accepted = ['{"id":1}', '{"id":1,"item":5}', '{"id":1,"iz":2}', '{"id":1,"idx":3,"it":4,"i":0}'];
    for (const text of accepted) {
      expect(matches(c, text), text).toBe(true);
      expect(ajv.validate(schema, JSON.parse(text)), text).toBe(true);
    }
    const refused = [
      '{"id":1,"id":2}', // the declared key again, through the pattern
      '{"id":1,"item":2,"item":9}', // the pattern's copy would override item's maximum
      '{"id":1,"iz":2,"item":1}', // declared members come first
      '{"id":-1}', // id meets the pattern's minimum too
      '{"id":1,"iz":-2}',
    ];
    for (const text of refused) expect(matches(c, text), text).toBe(false);
    // what the refused texts mean once parsed: a duplicate key silently overrides
    expect(ajv.validate(schema, JSON.parse('{"id":1,"item":2,"item":9}'))).toBe(false);
    expect(compileConstraint(c).warnings).toEqual([]);
  });

  it("drops an optional declared property that no value of both schemas meets", () => {
    const clash: Constraint = {
      type: "json_schema",
      schema: {
        type: "object",
        properties: { a: { type: "string" }, b: { type: "integer" } },
        patternProperties: { "^a": { type: "integer" } },
        additionalProperties: false,
      },
    };
    expect(matches(clash, '{"b":1}')).toBe(true);
    expect(matches(clash, '{"a":"x"}')).toBe(false);
    expect(matches(clash, '{"b":1,"ab":2}')).toBe(true);
  });
});

describe("malformed compiled grammars", () => {
  it.each([
    ["a reference to a missing rule", [1, 1, 1, 5], []],
    ["a missing byte set", [1, 1, 1, -3], [0, 0, 0, 0, 0, 0, 0, 0]],
    ["left recursion", [1, 2, 2, 0, -1, 1, -1], [0, 0, 0, 2, 0, 0, 0, 0]],
    ["truncated data", [2, 1], []],
    ["trailing data", [1, 1, 1, -1, 7], [0, 0, 0, 2, 0, 0, 0, 0]],
    ["no rules", [0], []],
    ["a start rule that never ends", [1, 1, 2, -1, 0], [0, 0, 0, 2, 0, 0, 0, 0]],
  ])("refuses %s without crashing", (_, rules, sets) => {
    expect(() => nativeAddon().grammarMatch(Int32Array.from(rules), Uint32Array.from(sets), utf8("a"))).toThrow(
      expect.objectContaining({
        code: "ERR_WENXIN_INVALID_ARGUMENT",
        message: expect.stringMatching(/^invalid grammar/),
      }),
    );
  });
});
