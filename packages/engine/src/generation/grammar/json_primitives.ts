/**
 * Grammar pieces for JSON values: whitespace, strings (with length bounds, patterns and formats),
 * numbers and integers (with bounds), and the free JSON value. Digit counts are bounded (16 integer
 * digits, 15 fraction digits, 2 exponent digits) so every number parses to a finite double.
 */
import { alt, literal, seq, type CodePointRanges, type GrammarExpr, type GrammarRule } from "./grammar_ast.js";
import { regexFullMatch } from "./regex_parser.js";

export const MAX_INT_DIGITS = 16;
const MAX_FRACTION_DIGITS = 15;

export function cls(ranges: CodePointRanges): GrammarExpr {
  return { kind: "class", ranges };
}
export function ref(name: string): GrammarExpr {
  return { kind: "ref", name };
}
export function rep(item: GrammarExpr, min: number, max: number): GrammarExpr {
  return { kind: "repeat", item, min, max };
}
export function opt(item: GrammarExpr): GrammarExpr {
  return rep(item, 0, 1);
}

const DIGIT = cls([[0x30, 0x39]]);
const NONZERO = cls([[0x31, 0x39]]);
const HEX = cls([
  [0x30, 0x39],
  [0x41, 0x46],
  [0x61, 0x66],
]);

/** The shared rules a JSON grammar refers to by name. */
export const JSON_RULES: Record<string, GrammarExpr> = {
  // Whitespace between tokens: nothing, one space, or a newline with some indentation; bounded
  // so that a model cannot spend its budget on blank space.
  ws: opt(
    alt(
      literal(" "),
      seq(
        literal("\n"),
        rep(
          cls([
            [0x09, 0x09],
            [0x20, 0x20],
          ]),
          0,
          40,
        ),
      ),
    ),
  ),
  // One JSON string character: unescaped, or an escape. \u escapes name no surrogates, so every
  // character is one code point (as JSON Schema's length keywords count them).
  "json-char": alt(
    cls([
      [0x20, 0x21],
      [0x23, 0x5b],
      [0x5d, 0x10ffff],
    ]),
    seq(
      literal("\\"),
      alt(
        cls([
          [0x22, 0x22],
          [0x2f, 0x2f],
          [0x5c, 0x5c],
          [0x62, 0x62],
          [0x66, 0x66],
          [0x6e, 0x6e],
          [0x72, 0x72],
          [0x74, 0x74],
        ]),
        seq(
          literal("u"),
          alt(
            seq(
              cls([
                [0x30, 0x39],
                [0x41, 0x43],
                [0x61, 0x63],
                [0x45, 0x46],
                [0x65, 0x66],
              ]),
              HEX,
              HEX,
              HEX,
            ),
            seq(
              cls([
                [0x44, 0x44],
                [0x64, 0x64],
              ]),
              cls([[0x30, 0x37]]),
              HEX,
              HEX,
            ),
          ),
        ),
      ),
    ),
  ),
  "json-string": seq(literal('"'), rep(ref("json-char"), 0, Infinity), literal('"')),
  "json-number": seq(
    opt(literal("-")),
    alt(literal("0"), seq(NONZERO, rep(DIGIT, 0, MAX_INT_DIGITS - 1))),
    opt(seq(literal("."), rep(DIGIT, 1, MAX_FRACTION_DIGITS))),
    opt(
      seq(
        cls([
          [0x45, 0x45],
          [0x65, 0x65],
        ]),
        opt(
          cls([
            [0x2b, 0x2b],
            [0x2d, 0x2d],
          ]),
        ),
        rep(DIGIT, 1, 2),
      ),
    ),
  ),
  "json-integer": seq(opt(literal("-")), alt(literal("0"), seq(NONZERO, rep(DIGIT, 0, MAX_INT_DIGITS - 1)))),
  "json-value": alt(
    ref("json-object"),
    ref("json-array"),
    ref("json-string"),
    ref("json-number"),
    literal("true"),
    literal("false"),
    literal("null"),
  ),
  "json-member": seq(ref("json-string"), literal(":"), ref("ws"), ref("json-value")),
  "json-object": seq(
    literal("{"),
    ref("ws"),
    opt(seq(ref("json-member"), rep(seq(literal(","), ref("ws"), ref("json-member")), 0, Infinity), ref("ws"))),
    literal("}"),
  ),
  "json-array": seq(
    literal("["),
    ref("ws"),
    opt(seq(ref("json-value"), rep(seq(literal(","), ref("ws"), ref("json-value")), 0, Infinity), ref("ws"))),
    literal("]"),
  ),
};

/** The shared rule `name` and every shared rule it uses, added to `rules` once. */
export function addJsonRule(rules: Map<string, GrammarRule>, name: string): GrammarExpr {
  const visit = (n: string): void => {
    if (rules.has(n)) return;
    const body = JSON_RULES[n];
    rules.set(n, { name: n, body });
    const walk = (e: GrammarExpr): void => {
      if (e.kind === "ref" && e.name in JSON_RULES) visit(e.name);
      else if (e.kind === "seq") e.items.forEach(walk);
      else if (e.kind === "alt") e.options.forEach(walk);
      else if (e.kind === "repeat") walk(e.item);
    };
    walk(body);
  };
  visit(name);
  return ref(name);
}

/** The JSON text of `value` (compact), as a literal. */
export function jsonLiteral(value: unknown): GrammarExpr {
  return literal(JSON.stringify(value));
}

/** A string of `min`..`max` characters. */
export function boundedString(min: number, max: number): GrammarExpr {
  return seq(literal('"'), rep(ref("json-char"), min, max), literal('"'));
}

/**
 * Rewrites an expression over decoded characters into one over JSON string content: `"`, `\` and
 * control characters are written as escapes, everything else as itself.
 */
export function jsonEscaped(e: GrammarExpr): GrammarExpr {
  switch (e.kind) {
    case "literal":
      return literal(JSON.stringify(e.text).slice(1, -1));
    case "class": {
      const plain: CodePointRanges = [];
      const escaped: GrammarExpr[] = [];
      for (const [lo, hi] of e.ranges) {
        let start = lo;
        for (let cp = lo; cp <= Math.min(hi, 0x5c); cp++) {
          if (cp < 0x20 || cp === 0x22 || cp === 0x5c) {
            if (cp > start) plain.push([start, cp - 1]);
            escaped.push(literal(JSON.stringify(String.fromCodePoint(cp)).slice(1, -1)));
            start = cp + 1;
          }
        }
        if (start <= hi) plain.push([start, hi]);
      }
      const options = plain.length > 0 ? [cls(plain), ...escaped] : escaped;
      return options.length === 0 ? cls([]) : alt(...options);
    }
    case "ref":
      return e;
    case "seq":
      return { kind: "seq", items: e.items.map(jsonEscaped) };
    case "alt":
      return { kind: "alt", options: e.options.map(jsonEscaped) };
    case "repeat":
      return { ...e, item: jsonEscaped(e.item) };
  }
}

const DATE =
  "\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8]))";
const TIME = "(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d{1,6})?(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)";
/**
 * String formats enforced by the grammar (others are annotations and are not enforced). Dates
 * never use February 29, so every generated date exists.
 */
/** One DNS label (lower case, at most 32 characters). */
const LABEL = "[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?";

export const FORMAT_PATTERNS: Record<string, string> = {
  date: DATE,
  time: TIME,
  "date-time": `${DATE}T${TIME}`,
  uuid: "[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
  email: "[a-z0-9](?:[a-z0-9._+-]{0,30}[a-z0-9])?@[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?(?:\\.[a-z]{2,8}){1,3}",
  ipv4: "(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)",
  ipv6: "(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}",
  hostname: `${LABEL}(?:\\.${LABEL}){0,3}`,
  uri: `https?://${LABEL}(?:\\.${LABEL}){0,3}(?::[1-9][0-9]{1,3})?(?:/[A-Za-z0-9._~-]{1,16}){0,4}/?`,
  duration: "P(?:[1-9][0-9]{0,3}[YMWD]|T[1-9][0-9]{0,3}[HMS])",
};

export function formatString(format: string): GrammarExpr | undefined {
  const pattern = FORMAT_PATTERNS[format];
  return pattern === undefined
    ? undefined
    : seq(literal('"'), regexFullMatch(pattern, `format ${format}`), literal('"'));
}

// ---- integer ranges -----------------------------------------------------------------------

const TEN = 10n;

function allChars(s: string, c: string): boolean {
  for (const x of s) if (x !== c) return false;
  return true;
}

function digitClass(lo: string, hi: string): GrammarExpr {
  return lo === hi ? literal(lo) : cls([[lo.charCodeAt(0), hi.charCodeAt(0)]]);
}

/** Decimal strings of equal length from `x` to `y` (digit by digit). */
function sameLength(x: string, y: string): GrammarExpr {
  const n = x.length;
  if (n === 0) return seq();
  if (x === y) return literal(x);
  if (x[0] === y[0]) return seq(literal(x[0]), sameLength(x.slice(1), y.slice(1)));
  const xr = x.slice(1);
  const yr = y.slice(1);
  const options: GrammarExpr[] = [];
  let midLo = x.charCodeAt(0) + 1;
  let midHi = y.charCodeAt(0) - 1;
  if (allChars(xr, "0")) midLo--;
  else options.push(seq(literal(x[0]), sameLength(xr, "9".repeat(n - 1))));
  const lastOption = allChars(yr, "9") ? undefined : seq(literal(y[0]), sameLength("0".repeat(n - 1), yr));
  if (lastOption === undefined) midHi++;
  if (midLo <= midHi) {
    const head = digitClass(String.fromCharCode(midLo), String.fromCharCode(midHi));
    options.push(n > 1 ? seq(head, rep(DIGIT, n - 1, n - 1)) : head);
  }
  if (lastOption) options.push(lastOption);
  return alt(...options);
}

/**
 * Non-negative integers from `lo` to `hi` (undefined: no upper bound, up to 16 digits) in JSON
 * form (no leading zeros). Returns undefined when the range is empty.
 */
export function naturalRange(lo: bigint, hi: bigint | undefined): GrammarExpr | undefined {
  const maxValue = TEN ** BigInt(MAX_INT_DIGITS) - 1n;
  const top = hi === undefined || hi > maxValue ? maxValue : hi;
  if (lo < 0n) lo = 0n;
  if (lo > top) return undefined;
  const options: GrammarExpr[] = [];
  for (let len = lo.toString().length; len <= top.toString().length; len++) {
    const start = len === 1 ? 0n : TEN ** BigInt(len - 1);
    const end = TEN ** BigInt(len) - 1n;
    const a = lo > start ? lo : start;
    const b = top < end ? top : end;
    if (a > b) continue;
    options.push(sameLength(a.toString(), b.toString()));
  }
  return alt(...options);
}

/** Integers in [lo, hi] (either bound may be absent) in JSON form, or undefined when none. */
export function integerRange(lo: bigint | undefined, hi: bigint | undefined): GrammarExpr | undefined {
  const options: GrammarExpr[] = [];
  if (lo === undefined || lo < 0n) {
    // Negative values: "-" and a magnitude from max(1, -hi) to -lo.
    const magLo = hi !== undefined && hi < 0n ? -hi : 1n;
    const neg = naturalRange(magLo, lo === undefined ? undefined : -lo);
    if (neg) options.push(seq(literal("-"), neg));
  }
  if (hi === undefined || hi >= 0n) {
    const pos = naturalRange(lo === undefined || lo < 0n ? 0n : lo, hi);
    if (pos) options.push(pos);
  }
  return options.length === 0 ? undefined : alt(...options);
}

/** A bound of a numeric range: the value and whether it is exclusive. */
export interface NumericBound {
  value: number;
  exclusive: boolean;
}

function floorBig(x: number): bigint {
  return BigInt(Math.floor(x));
}

/** Integers within the bounds. */
export function boundedInteger(min: NumericBound | undefined, max: NumericBound | undefined): GrammarExpr | undefined {
  const lo = min === undefined ? undefined : min.exclusive ? floorBig(min.value) + 1n : BigInt(Math.ceil(min.value));
  const hi = max === undefined ? undefined : max.exclusive ? BigInt(Math.ceil(max.value)) - 1n : floorBig(max.value);
  if (lo !== undefined && hi !== undefined && lo > hi) return undefined;
  return integerRange(lo, hi);
}

/**
 * Numbers within the bounds: the integers in range, plus `m.fff` forms only where every fraction
 * keeps the value in range (so a bound that leaves no whole integer part allows no fractions).
 */
export function boundedNumber(min: NumericBound | undefined, max: NumericBound | undefined): GrammarExpr | undefined {
  const options: GrammarExpr[] = [];
  const ints = boundedInteger(min, max);
  if (ints) options.push(ints);
  const fraction = seq(literal("."), rep(DIGIT, 1, MAX_FRACTION_DIGITS));
  // m.fff lies in [m, m + 1): needs m > min and m + 1 <= max.
  const posLo = min === undefined ? 0n : floorBig(min.value) + 1n;
  const posHi = max === undefined ? undefined : floorBig(max.value) - 1n;
  const pos = posHi !== undefined && posHi < 0n ? undefined : naturalRange(posLo < 0n ? 0n : posLo, posHi);
  if (pos) options.push(seq(pos, fraction));
  // -m.fff lies in (-(m + 1), -m]: needs -(m + 1) >= min and -m < max.
  const negHi = min === undefined ? undefined : floorBig(-min.value) - 1n;
  const negLo = max === undefined ? 0n : floorBig(-max.value) + 1n;
  const neg = negHi !== undefined && negHi < 0n ? undefined : naturalRange(negLo < 0n ? 0n : negLo, negHi);
  if (neg) options.push(seq(literal("-"), neg, fraction));
  return options.length === 0 ? undefined : alt(...options);
}
