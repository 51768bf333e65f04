// The constraint compiler without the native matcher: GBNF, regex and JSON Schema errors name the
// offending line/column or schema path; numeric ranges and UTF-8 classes are exact.
import { describe, expect, it } from "vitest";

import { compileConstraint, jsonSchemaToGbnf } from "../../src/generation/constraint.js";
import { compileGrammar } from "../../src/generation/grammar/byte_grammar.js";
import { parseGbnf } from "../../src/generation/grammar/gbnf_parser.js";
import { jsonSchemaGrammar } from "../../src/generation/grammar/json_schema_grammar.js";
import { boundedNumber, integerRange } from "../../src/generation/grammar/json_primitives.js";
import { regexFullMatch } from "../../src/generation/grammar/regex_parser.js";
import { utf8Sequences } from "../../src/generation/grammar/utf8_ranges.js";
import { wenxinErrorOf } from "../../../../test/helpers/errors.js";
import { exprRegExp } from "./expr_regexp.js";
import { generateSchemas, rng } from "./schema_generator.js";

describe("GBNF errors point at line and column", () => {
  it.each([
    ['root ::= "a" b\nb ::= c', "line 2, column 7: rule 'c' is not defined"],
    ['root ::= "abc', "line 1, column 10: this string literal is never closed"],
    ["root ::= [a-z\n", "line 1, column 10: this character class is never closed"],
    ['root ::= ("a" | "b"', "line 1, column 10: this '(' is never closed"],
    ['root ::= "a")', "line 1, column 13: unmatched ')'"],
    ['root ::= "a"{3,1}', "line 1, column 13: repetition {3,1} has its maximum below its minimum"],
    ["root ::= [z-a]", "line 1, column 12: the range ends (U+0061) before it starts (U+007A)"],
    ['root ::= "\\q"', "line 1, column 11: unknown escape '\\q'"],
    ['expr ::= "x"', "line 1, column 1: the grammar has no 'root' rule"],
    ['root ::= "a"\nroot ::= "b"', "line 2, column 1: rule 'root' is defined twice"],
    ['root ::= x\nx ::= x "a" | "b"', "line 2, column 1: rule 'x' is left-recursive (x -> x)"],
    ['root ::= a\na ::= b "x"\nb ::= a? "y"', "rule 'a' is left-recursive (a -> b -> a)"],
    [
      'root ::= ("a"?)*',
      "line 1, column 16: the expression repeated with '*' or '+' at line 1, column 16 can match the empty string",
    ],
    ['root ::= "a" root', "rule 'root' can never finish"],
    ["root ::= =", "line 1, column 10: unexpected '='"],
  ])("%j", (gbnf, message) => {
    const err = wenxinErrorOf(() => compileConstraint({ type: "grammar", gbnf }));
    expect(err.code).toBe("ERR_WENXIN_INVALID_ARGUMENT");
    expect(err.message).toContain("constraint.gbnf");
    expect(err.message).toContain(message);
  });

  it("accepts rules spanning lines, comments and every operator", () => {
    const g = parseGbnf(`# a comment
root ::= greeting ( ", " name )?   # trailing comment
         "!"{1,3}
greeting ::= "hi" | "hello"
    | "hey"
name ::= [A-Z] [a-z]* | "\\u4e16\\x41"`);
    expect([...g.rules.keys()]).toEqual(["root", "greeting", "name"]);
    expect(() => compileGrammar(g)).not.toThrow();
  });
});

describe("regex errors point at the column", () => {
  it.each([
    ["a(?=b)", "column 2: lookahead and lookbehind"],
    ["(a)\\1", "column 4: backreferences"],
    ["a\\bc", "column 2: word boundaries"],
    ["a^b", "column 2: '^' and '$' are only supported"],
    ["(ab", "column 1: this '(' is never closed"],
    ["[abc", "column 1: this '[' is never closed"],
    ["*a", "column 1: '*' has nothing to repeat"],
    ["a{5,2}", "column 2: {5,2} has its maximum below its minimum"],
    ["[z-a]", "column 2: this range ends before it starts"],
  ])("%j", (pattern, message) => {
    const err = wenxinErrorOf(() => compileConstraint({ type: "regex", pattern }));
    expect(err.code).toBe("ERR_WENXIN_INVALID_ARGUMENT");
    expect(err.message).toContain(`constraint.pattern ${message}`);
  });

  it.each([
    ["\\d{3}-\\d{2,4}", ["123-45", "000-0000"], ["12-34", "123-4", "123-45678", "abc-12"]],
    ["(cat|dog)s?", ["cat", "dogs"], ["cats!", "bird", ""]],
    ["[^a-c\\s]+x", ["dx", "ééx"], ["ax", " x", "x"]],
    ["\\w+@\\w+\\.(com|org)", ["a_1@b.com"], ["a@b.net", "@b.com"]],
    ["[\\u4e00-\\u9fff]{2}", ["中文"], ["中", "中文字", "ab"]],
    ["^a.c$", ["abc", "a中c"], ["a\nc", "ac"]],
    ["x{2,}y?", ["xx", "xxxxy"], ["x", "xy"]],
  ])("%j matches what JavaScript matches", (pattern, yes, no) => {
    const re = exprRegExp(regexFullMatch(pattern));
    const js = new RegExp(`^(?:${pattern.replace(/^\^|\$$/g, "")})$`, "u");
    for (const s of [...yes, ...no]) expect(re.test(s), s).toBe(js.test(s));
    for (const s of yes) expect(re.test(s), s).toBe(true);
    for (const s of no) expect(re.test(s), s).toBe(false);
  });
});

describe("JSON Schema errors name the schema path", () => {
  it.each([
    [{ type: "object", properties: { a: { type: "strin" } } }, 'at #/properties/a/type: unknown type "strin"'],
    [
      { type: "object", properties: { a: { type: "array", items: { not: {} } } } },
      "at #/properties/a/items/not: 'not' of a schema that allows everything allows no value",
    ],
    [{ $ref: "#/$defs/missing" }, 'at #/$ref: "#/$defs/missing" points at nothing'],
    [{ $ref: "https://example.com/s.json" }, "at #/$ref: only references into the same schema"],
    [{ type: "array", minItems: 3, maxItems: 1 }, "at #/minItems: minItems 3 is above the number of items allowed (1)"],
    [{ type: "string", minLength: -1 }, "at #/minLength: 'minLength' must be a non-negative integer"],
    [
      { type: "array", items: { type: "string", maxLength: 50000 } },
      "at #/items/maxLength: 'maxLength' above 10000 is not supported",
    ],
    [{ type: "integer", minimum: 5, maximum: 4 }, "at #: no integer that the grammar can write lies within the bounds"],
    [{ type: "string", not: { type: "string" } }, "at #/not: 'not' excludes every type the schema allows"],
    [{ enum: ["a", "b"], not: { enum: ["a", "b"] } }, "at #/not: 'not' excludes every listed value"],
    [
      { type: "object", required: ["a", "b"], maxProperties: 1 },
      "at #/maxProperties: maxProperties 1 is below the 2 required",
    ],
    [
      { type: "object", properties: { a: {} }, additionalProperties: false, minProperties: 2 },
      "at #/minProperties: minProperties 2 needs more members",
    ],
    [
      { type: "object", required: ["x"], additionalProperties: false },
      "at #/required: required property 'x' is not in 'properties'",
    ],
    [{ anyOf: [] }, "at #/anyOf: 'anyOf' must be a non-empty array"],
    [{ $ref: "#", type: "object" }, "at #: the schema nests deeper than 256 levels"],
    [{ type: "object", properties: { "a/b": false } }, "at #/properties/a~1b: the schema `false` allows no value"],
    [
      { allOf: [{ type: "string" }, { type: "integer" }] },
      "at #/allOf/1/type: the combined schemas have no type in common",
    ],
    [
      { $ref: "#/$defs/a", $defs: { a: { $ref: "#/$defs/a" } } },
      'at #/$defs/a/$ref: the reference "#/$defs/a" loops back',
    ],
    [{ enum: "x" }, "at #/enum: 'enum' must be a non-empty array"],
    [{ type: "string", enum: [1, 2] }, "at #/enum: no listed value has the schema's type"],
  ])("%j", (schema, message) => {
    const err = wenxinErrorOf(() => compileConstraint({ type: "json_schema", schema }));
    expect(err.code).toBe("ERR_WENXIN_INVALID_ARGUMENT");
    expect(err.message).toContain(`constraint.schema ${message}`);
    expect(err.details.subject).toMatch(/^constraint\.schema at #/);
  });

  it.each([
    [{ type: "integer", multipleOf: 5 }, "#/multipleOf: 'multipleOf' is not enforced"],
    [{ type: "array", items: { type: "string" }, uniqueItems: true }, "#/uniqueItems: 'uniqueItems' is not enforced"],
    [{ type: "array", contains: { const: 1 } }, "#/contains: 'contains' is not enforced"],
    [{ if: { required: ["a"] }, then: { required: ["b"] } }, "#/if: conditional schemas"],
    [{ type: "object", dependentRequired: { a: ["b"] } }, "#/dependentRequired: 'dependentRequired' is not enforced"],
    [{ type: "string", pattern: "^(?!x)[a-z]+$" }, "#/pattern: lookahead and lookbehind"],
    [{ type: "string", format: "iri-reference" }, "#/format: format 'iri-reference' is not enforced"],
    [{ type: "string", format: "email", maxLength: 20 }, "#/format: format 'email' beside string lengths"],
    [{ type: "string", pattern: "^[a-z]+$", maxLength: 5 }, "#/minLength: string lengths beside 'pattern'"],
    [{ type: "object", properties: { a: { not: { required: ["x"] } } } }, "#/properties/a/not: only 'not' of a type"],
    [
      { type: "object", patternProperties: { "^a": { type: "string" }, "^b": { type: "integer" } } },
      "#/patternProperties: a key matching several patterns",
    ],
    [{ allOf: [{ type: "string", pattern: "a" }, { pattern: "b" }] }, "#/allOf/1/pattern: 'pattern' differs"],
    [
      { $dynamicRef: "https://example.com/x" },
      "#/$dynamicRef: '$dynamicRef' to \"https://example.com/x\" is not followed",
    ],
  ])("relaxes %j with a warning, not an error", (schema, warning) => {
    const grammar = jsonSchemaGrammar(schema);
    expect(grammar.warnings).toEqual([expect.stringContaining(warning)]);
    expect(grammar.warnings[0]).toMatch(/; the output may not meet it$/);
    expect(compileConstraint({ type: "json_schema", schema }).warnings).toEqual(grammar.warnings);
  });

  it("enforces exactly, without warnings: patternProperties, propertyNames, min/maxProperties, not, $ref siblings", () => {
    for (const schema of [
      { type: "object", patternProperties: { "^x": { type: "integer" } }, additionalProperties: false },
      { type: "object", propertyNames: { pattern: "^[a-z]+$" }, additionalProperties: { type: "number" } },
      { type: "object", propertyNames: { enum: ["a", "b"] }, additionalProperties: true, minProperties: 1 },
      { type: "object", additionalProperties: { type: "integer" }, minProperties: 2, maxProperties: 3 },
      { type: ["string", "null"], not: { type: "null" } },
      { type: "string", not: { enum: ["", "none"] } },
      { $defs: { a: { type: "string" } }, $ref: "#/$defs/a", maxLength: 3 },
      { type: "object", properties: { kids: { type: "array", items: { $recursiveRef: "#" } } } },
    ])
      expect(jsonSchemaGrammar(schema).warnings, JSON.stringify(schema)).toEqual([]);
  });

  it("accepts a propertyNames that every key meets (zod's z.record(z.string(), …))", () => {
    const record = {
      type: "object",
      propertyNames: { type: "string" },
      additionalProperties: { type: "integer" },
    };
    const { propertyNames: _names, ...withoutNames } = record;
    expect(jsonSchemaToGbnf(record)).toBe(jsonSchemaToGbnf(withoutNames));
  });

  it("compiles every generated schema, and its GBNF text compiles to the same grammar", () => {
    for (const schema of generateSchemas(60, 7)) {
      const direct = compileGrammar(jsonSchemaGrammar(schema));
      const viaText = compileGrammar(parseGbnf(jsonSchemaToGbnf(schema)));
      expect(viaText.rules).toEqual(direct.rules);
      expect(viaText.sets).toEqual(direct.sets);
    }
  });
});

describe("numeric ranges", () => {
  it("integerRange matches exactly the integers in range", () => {
    const bounds: [bigint | undefined, bigint | undefined][] = [
      [0n, 0n],
      [0n, 9n],
      [3n, 619n],
      [-50n, 1500n],
      [-1100n, -7n],
      [1n, undefined],
      [undefined, -20n],
      [undefined, 13n],
      [-9n, 9n],
      [100n, 1099n],
    ];
    for (const [lo, hi] of bounds) {
      const re = exprRegExp(integerRange(lo, hi)!);
      for (let n = -1300; n <= 1300; n++) {
        const inRange = (lo === undefined || BigInt(n) >= lo) && (hi === undefined || BigInt(n) <= hi);
        expect(re.test(String(n)), `${n} in [${lo}, ${hi}]`).toBe(inRange);
      }
      expect(re.test("-0")).toBe(false);
      expect(re.test("007")).toBe(false);
    }
    const safe = exprRegExp(integerRange(BigInt(Number.MIN_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER))!);
    for (const n of [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 0, 1e15, -123456789012345])
      expect(safe.test(String(n))).toBe(true);
    for (const s of ["9007199254740992", "-9007199254740992", "10000000000000000"]) expect(safe.test(s)).toBe(false);
  });

  it("boundedNumber writes only numbers within the bounds, including fractions", () => {
    const r = rng(3);
    const cases = [
      { min: { value: -2.5, exclusive: false }, max: { value: 10, exclusive: false } },
      { min: { value: 0, exclusive: true }, max: undefined },
      { min: undefined, max: { value: 3.5, exclusive: true } },
      { min: { value: -10, exclusive: false }, max: { value: -1.5, exclusive: false } },
    ];
    for (const { min, max } of cases) {
      const re = exprRegExp(boundedNumber(min, max)!);
      let accepted = 0;
      for (let i = 0; i < 4000; i++) {
        const v = (r() - 0.5) * 40;
        for (const text of [String(Math.round(v)), v.toFixed(1 + Math.floor(r() * 3))]) {
          if (!re.test(text)) continue;
          accepted++;
          const x = Number(text);
          if (min) expect(min.exclusive ? x > min.value : x >= min.value, text).toBe(true);
          if (max) expect(max.exclusive ? x < max.value : x <= max.value, text).toBe(true);
        }
      }
      expect(accepted).toBeGreaterThan(500); // not vacuous
    }
  });
});

describe("UTF-8 classes", () => {
  it("byte sequences match exactly the encodings of the class", () => {
    const classes: [number, number][][] = [
      [
        [0x20, 0x21],
        [0x23, 0x5b],
        [0x5d, 0x10ffff],
      ],
      [[0x80, 0x7ff]],
      [[0x4e00, 0x9fff]],
      [
        [0x41, 0x5a],
        [0x3b1, 0x3c9],
        [0x1f600, 0x1f64f],
      ],
      [
        [0x7f, 0x81],
        [0x7fe, 0x801],
        [0xfffe, 0x10001],
      ],
    ];
    const r = rng(9);
    for (const ranges of classes) {
      const seqs = utf8Sequences(ranges);
      const matches = (bytes: Buffer) =>
        seqs.some(
          (s) =>
            s.length === bytes.length && s.every((set, i) => set.some(([lo, hi]) => bytes[i] >= lo && bytes[i] <= hi)),
        );
      const probes = [0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xffff, 0x10000, 0x10ffff, ...ranges.flat()];
      for (let i = 0; i < 3000; i++) probes.push(Math.floor(r() * 0x110000));
      for (const c of probes) {
        if (c >= 0xd800 && c <= 0xdfff) continue;
        const inClass = ranges.some(([lo, hi]) => c >= lo && c <= hi);
        expect(matches(Buffer.from(String.fromCodePoint(c))), `U+${c.toString(16)}`).toBe(inClass);
      }
    }
  });
});
