/**
 * Parses a regular expression (JavaScript syntax, the subset that a grammar can express) into a
 * GrammarExpr: literals, escapes (\d \w \s and their negations, \n \t \xHH \uHHHH \u{...}), classes,
 * `.`, groups ((...), (?:...), (?<name>...)), alternation and quantifiers (* + ? {m} {m,} {m,n},
 * lazy forms alike). `^` and `$` may only open or close a top-level alternative. Backreferences,
 * lookaround and word boundaries cannot be expressed and are rejected with the column.
 */
import {
  MAX_CODE_POINT,
  MAX_REPEAT,
  complementRanges,
  constraintError,
  normalizeRanges,
  type CodePointRanges,
  type GrammarExpr,
} from "./grammar_ast.js";

const DIGIT: CodePointRanges = [[0x30, 0x39]];
const WORD: CodePointRanges = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
const SPACE: CodePointRanges = normalizeRanges([
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]);
/** `.`: anything but a line terminator, as in JavaScript without the s flag. */
const DOT: CodePointRanges = complementRanges([
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
]);

/** One top-level alternative and whether it was anchored at either end. */
export interface RegexBranch {
  expr: GrammarExpr;
  anchoredStart: boolean;
  anchoredEnd: boolean;
}

class RegexParser {
  private pos = 0;

  constructor(
    private readonly src: string,
    private readonly what: string,
  ) {}

  parse(): RegexBranch[] {
    const branches: RegexBranch[] = [];
    for (;;) {
      const anchoredStart = this.src[this.pos] === "^";
      if (anchoredStart) this.pos++;
      const expr = this.sequence(true);
      const anchoredEnd = this.src[this.pos] === "$";
      if (anchoredEnd) this.pos++;
      branches.push({ expr, anchoredStart, anchoredEnd });
      if (this.pos >= this.src.length) return branches;
      if (this.src[this.pos] === "|") {
        this.pos++;
        continue;
      }
      if (this.src[this.pos] === ")") throw this.error(this.pos, "unmatched ')'");
      throw this.error(this.pos, "'^' and '$' are only supported at the start and end of the pattern");
    }
  }

  private alternatives(): GrammarExpr {
    const options = [this.sequence(false)];
    while (this.src[this.pos] === "|") {
      this.pos++;
      options.push(this.sequence(false));
    }
    return options.length === 1 ? options[0] : { kind: "alt", options };
  }

  private sequence(topLevel: boolean): GrammarExpr {
    const items: GrammarExpr[] = [];
    while (this.pos < this.src.length) {
      const c = this.src[this.pos];
      if (c === "|" || c === ")") break;
      if (c === "$" && topLevel && (this.pos + 1 === this.src.length || this.src[this.pos + 1] === "|")) break;
      items.push(this.quantified(this.atom()));
    }
    return items.length === 1 ? items[0] : { kind: "seq", items };
  }

  private atom(): GrammarExpr {
    const at = this.pos;
    const c = this.src[this.pos];
    if (c === "(") return this.group();
    if (c === "[") return { kind: "class", ranges: this.charClass(), loc: this.loc(at) };
    if (c === ".") {
      this.pos++;
      return { kind: "class", ranges: DOT, loc: this.loc(at) };
    }
    if (c === "^" || c === "$")
      throw this.error(at, "'^' and '$' are only supported at the start and end of the pattern");
    if (c === "*" || c === "+" || c === "?") throw this.error(at, `'${c}' has nothing to repeat`);
    if (c === "\\") {
      const ranges = this.escape(false);
      return { kind: "class", ranges, loc: this.loc(at) };
    }
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return { kind: "literal", text: String.fromCodePoint(cp), loc: this.loc(at) };
  }

  private group(): GrammarExpr {
    const at = this.pos;
    this.pos++;
    if (this.src[this.pos] === "?") {
      const rest = this.src.slice(this.pos, this.pos + 3);
      if (rest.startsWith("?:")) this.pos += 2;
      else if (/^\?<[A-Za-z_$]/.test(rest)) {
        const close = this.src.indexOf(">", this.pos);
        if (close < 0) throw this.error(at, "unterminated group name");
        this.pos = close + 1;
      } else throw this.error(at, "lookahead and lookbehind cannot be expressed as a grammar");
    }
    const inner = this.alternatives();
    if (this.src[this.pos] !== ")") throw this.error(at, "this '(' is never closed");
    this.pos++;
    return inner;
  }

  private quantified(item: GrammarExpr): GrammarExpr {
    for (;;) {
      const at = this.pos;
      const c = this.src[this.pos];
      let min: number;
      let max: number;
      if (c === "*") [min, max] = [0, Infinity];
      else if (c === "+") [min, max] = [1, Infinity];
      else if (c === "?") [min, max] = [0, 1];
      else if (c === "{") {
        const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.src.slice(this.pos));
        if (!m) return item; // a literal '{', as JavaScript reads it
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
        if (max < min) throw this.error(at, `{${min},${max}} has its maximum below its minimum`);
        if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT))
          throw this.error(at, `repetition bounds above ${MAX_REPEAT} are not supported`);
        this.pos += m[0].length - 1;
      } else return item;
      this.pos++;
      if (this.src[this.pos] === "?") this.pos++; // lazy: the same set of strings
      item = { kind: "repeat", item, min, max, loc: this.loc(at) };
    }
  }

  private charClass(): CodePointRanges {
    const at = this.pos;
    this.pos++;
    const negated = this.src[this.pos] === "^";
    if (negated) this.pos++;
    const ranges: CodePointRanges = [];
    let first = true;
    for (;;) {
      if (this.pos >= this.src.length) throw this.error(at, "this '[' is never closed");
      if (this.src[this.pos] === "]" && !first) break;
      if (this.src[this.pos] === "]" && first) break; // [] matches nothing, [^] anything
      first = false;
      const startAt = this.pos;
      const lo = this.classAtom();
      if (this.src[this.pos] === "-" && this.src[this.pos + 1] !== "]" && this.pos + 1 < this.src.length) {
        this.pos++;
        const hi = this.classAtom();
        if (lo.length !== 1 || hi.length !== 1 || lo[0][0] !== lo[0][1] || hi[0][0] !== hi[0][1])
          throw this.error(startAt, "a class escape like \\d cannot bound a range");
        if (hi[0][0] < lo[0][0]) throw this.error(startAt, "this range ends before it starts");
        ranges.push([lo[0][0], hi[0][0]]);
      } else ranges.push(...lo);
    }
    this.pos++;
    return negated ? complementRanges(ranges) : normalizeRanges(ranges);
  }

  private classAtom(): CodePointRanges {
    if (this.src[this.pos] === "\\") return this.escape(true);
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return [[cp, cp]];
  }

  /** An escape as a set of code points (a single character is a one-element range). */
  private escape(inClass: boolean): CodePointRanges {
    const at = this.pos;
    this.pos++;
    const c = this.src[this.pos++];
    if (c === undefined) throw this.error(at, "the pattern ends with a lone '\\'");
    const one = (cp: number): CodePointRanges => [[cp, cp]];
    switch (c) {
      case "d":
        return DIGIT;
      case "D":
        return complementRanges(DIGIT);
      case "w":
        return WORD;
      case "W":
        return complementRanges(WORD);
      case "s":
        return SPACE;
      case "S":
        return complementRanges(SPACE);
      case "n":
        return one(10);
      case "r":
        return one(13);
      case "t":
        return one(9);
      case "v":
        return one(11);
      case "f":
        return one(12);
      case "0":
        return one(0);
      case "b":
        if (inClass) return one(8);
        throw this.error(at, "word boundaries (\\b) cannot be expressed as a grammar");
      case "B":
        throw this.error(at, "word boundaries (\\B) cannot be expressed as a grammar");
      case "x":
        return one(this.hex(at, 2));
      case "u": {
        if (this.src[this.pos] === "{") {
          const close = this.src.indexOf("}", this.pos);
          const h = close < 0 ? "" : this.src.slice(this.pos + 1, close);
          if (!/^[0-9a-fA-F]{1,6}$/.test(h) || parseInt(h, 16) > MAX_CODE_POINT)
            throw this.error(at, "bad \\u{...} escape");
          this.pos = close + 1;
          return one(parseInt(h, 16));
        }
        return one(this.hex(at, 4));
      }
      case "c": {
        const l = this.src[this.pos++];
        if (!l || !/[A-Za-z]/.test(l)) throw this.error(at, "\\c needs a letter");
        return one(l.charCodeAt(0) % 32);
      }
      case "k":
        throw this.error(at, "backreferences cannot be expressed as a grammar");
      default:
        if (/[1-9]/.test(c)) throw this.error(at, "backreferences cannot be expressed as a grammar");
        return one(c.codePointAt(0)!);
    }
  }

  private hex(at: number, digits: number): number {
    const h = this.src.slice(this.pos, this.pos + digits);
    if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(h)) throw this.error(at, `this escape needs ${digits} hex digits`);
    this.pos += digits;
    return parseInt(h, 16);
  }

  private loc(at: number) {
    return { line: 1, column: at + 1 };
  }

  private error(at: number, message: string) {
    return constraintError(this.what, `column ${at + 1}`, message);
  }
}

/** The top-level alternatives of `pattern`; `what` names it in errors (e.g. "constraint.pattern"). */
export function parseRegex(pattern: string, what = "pattern"): RegexBranch[] {
  return new RegexParser(pattern, what).parse();
}

/** An expression for the strings that match the whole pattern (anchors are implied). */
export function regexFullMatch(pattern: string, what = "pattern"): GrammarExpr {
  const branches = parseRegex(pattern, what);
  return branches.length === 1 ? branches[0].expr : { kind: "alt", options: branches.map((b) => b.expr) };
}

/**
 * An expression for the strings in which the pattern is found (JSON Schema's `pattern`): an
 * alternative without `^` may have anything before it, one without `$` anything after.
 */
export function regexSearch(pattern: string, what = "pattern"): GrammarExpr {
  const any: GrammarExpr = {
    kind: "repeat",
    item: { kind: "class", ranges: [[0, MAX_CODE_POINT]] },
    min: 0,
    max: Infinity,
  };
  const options = parseRegex(pattern, what).map((b) => {
    const items: GrammarExpr[] = [];
    if (!b.anchoredStart) items.push(any);
    items.push(b.expr);
    if (!b.anchoredEnd) items.push(any);
    return items.length === 1 ? items[0] : ({ kind: "seq", items } as GrammarExpr);
  });
  return options.length === 1 ? options[0] : { kind: "alt", options };
}
