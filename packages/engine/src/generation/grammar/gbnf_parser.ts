/**
 * Parses GBNF, the grammar text form of llama.cpp, into a Grammar:
 *
 *   root   ::= "{" ws pair ("," ws pair)* "}"    # a comment
 *   pair   ::= [a-z]+ ":" [0-9]{1,3}
 *   ws     ::= [ \t\n]*
 *
 * Terminals: "literals" (escapes \n \r \t \\ \" \xHH \uHHHH \UHHHHHHHH), character classes [a-z],
 * negated [^...], `.` (any character). Operators: grouping ( ), alternation |, and * + ? {m} {m,}
 * {m,n}. The start rule is `root`. A rule ends where the next `name ::=` begins, so rules may span
 * lines. Errors name the line and column.
 */
import {
  MAX_CODE_POINT,
  MAX_REPEAT,
  complementRanges,
  constraintError,
  normalizeRanges,
  type CodePointRanges,
  type Grammar,
  type GrammarExpr,
  type SourceLoc,
} from "./grammar_ast.js";

const NAME = /[A-Za-z0-9_-]/;

class GbnfParser {
  private pos = 0;
  private readonly lineStarts: number[] = [0];

  constructor(
    private readonly src: string,
    private readonly what: string,
  ) {
    for (let i = 0; i < src.length; i++) if (src[i] === "\n") this.lineStarts.push(i + 1);
  }

  parse(): Grammar {
    const rules = new Map<string, { name: string; body: GrammarExpr; loc: SourceLoc }>();
    this.skipSpace();
    while (this.pos < this.src.length) {
      const loc = this.loc();
      const name = this.name();
      if (!name) throw this.error(loc, `expected a rule name, found ${this.describeHere()}`);
      this.skipSpace();
      if (!this.src.startsWith("::=", this.pos))
        throw this.error(this.loc(), `expected '::=' after rule name '${name}', found ${this.describeHere()}`);
      this.pos += 3;
      this.skipSpace();
      if (rules.has(name)) throw this.error(loc, `rule '${name}' is defined twice`);
      const body = this.alternatives(false);
      rules.set(name, { name, body, loc });
      this.skipSpace();
    }
    if (rules.size === 0) throw constraintError(this.what, "line 1, column 1", "the grammar has no rules");
    if (!rules.has("root")) throw constraintError(this.what, "line 1, column 1", "the grammar has no 'root' rule");
    return { rules, root: "root" };
  }

  private alternatives(nested: boolean): GrammarExpr {
    const options: GrammarExpr[] = [this.sequence(nested)];
    while (this.peek() === "|") {
      this.pos++;
      this.skipSpace();
      options.push(this.sequence(nested));
    }
    return options.length === 1 ? options[0] : { kind: "alt", options };
  }

  private sequence(nested: boolean): GrammarExpr {
    const items: GrammarExpr[] = [];
    for (;;) {
      this.skipSpace();
      const c = this.peek();
      if (c === undefined || c === "|") break;
      if (c === ")") {
        if (!nested) throw this.error(this.loc(), "unmatched ')'");
        break;
      }
      if (!nested && this.atRuleStart()) break;
      items.push(this.repetition(this.atom()));
    }
    return items.length === 1 ? items[0] : { kind: "seq", items };
  }

  private atom(): GrammarExpr {
    const loc = this.loc();
    const c = this.peek()!;
    if (c === '"') return { kind: "literal", text: this.literal(), loc };
    if (c === "[") return { kind: "class", ranges: this.charClass(), loc };
    if (c === ".") {
      this.pos++;
      return { kind: "class", ranges: [[0, MAX_CODE_POINT]], loc };
    }
    if (c === "(") {
      this.pos++;
      this.skipSpace();
      const inner = this.alternatives(true);
      this.skipSpace();
      if (this.peek() !== ")") throw this.error(loc, "this '(' is never closed");
      this.pos++;
      return inner;
    }
    const name = this.name();
    if (name) return { kind: "ref", name, loc };
    throw this.error(loc, `unexpected ${this.describeHere()}`);
  }

  private repetition(item: GrammarExpr): GrammarExpr {
    for (;;) {
      const loc = this.loc();
      const c = this.src[this.pos];
      if (c === "*") item = { kind: "repeat", item, min: 0, max: Infinity, loc };
      else if (c === "+") item = { kind: "repeat", item, min: 1, max: Infinity, loc };
      else if (c === "?") item = { kind: "repeat", item, min: 0, max: 1, loc };
      else if (c === "{") {
        const m = /^\{\s*(\d+)\s*(?:(,)\s*(\d*)\s*)?\}/.exec(this.src.slice(this.pos));
        if (!m) throw this.error(loc, "expected a repetition {m}, {m,} or {m,n}");
        const min = Number(m[1]);
        const max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
        if (max < min) throw this.error(loc, `repetition {${min},${max}} has its maximum below its minimum`);
        if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT))
          throw this.error(loc, `repetition bounds above ${MAX_REPEAT} are not supported`);
        this.pos += m[0].length - 1;
        item = { kind: "repeat", item, min, max, loc };
      } else return item;
      this.pos++;
    }
  }

  private literal(): string {
    const start = this.loc();
    this.pos++; // opening quote
    let out = "";
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined || c === "\n") throw this.error(start, "this string literal is never closed");
      if (c === '"') {
        this.pos++;
        return out;
      }
      out += c === "\\" ? String.fromCodePoint(this.escape()) : this.codePointHere();
    }
  }

  private charClass(): CodePointRanges {
    const start = this.loc();
    this.pos++; // [
    const negated = this.src[this.pos] === "^";
    if (negated) this.pos++;
    const ranges: CodePointRanges = [];
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined || c === "\n") throw this.error(start, "this character class is never closed");
      if (c === "]") {
        this.pos++;
        break;
      }
      const lo = this.classChar();
      let hi = lo;
      if (this.src[this.pos] === "-" && this.src[this.pos + 1] !== "]" && this.src[this.pos + 1] !== undefined) {
        const rangeLoc = this.loc();
        this.pos++;
        hi = this.classChar();
        if (hi < lo) throw this.error(rangeLoc, `the range ends (U+${hex(hi)}) before it starts (U+${hex(lo)})`);
      }
      ranges.push([lo, hi]);
    }
    return negated ? complementRanges(ranges) : normalizeRanges(ranges);
  }

  private classChar(): number {
    if (this.src[this.pos] === "\\") return this.escape();
    return this.codePointHere().codePointAt(0)!;
  }

  private escape(): number {
    const loc = this.loc();
    this.pos++; // backslash
    const c = this.src[this.pos++];
    const simple: Record<string, number> = {
      n: 10,
      r: 13,
      t: 9,
      "\\": 92,
      '"': 34,
      "[": 91,
      "]": 93,
      "-": 45,
      "^": 94,
      "/": 47,
    };
    if (c !== undefined && c in simple) return simple[c];
    const digits = c === "x" ? 2 : c === "u" ? 4 : c === "U" ? 8 : 0;
    if (digits === 0) throw this.error(loc, `unknown escape '\\${c ?? ""}'`);
    const h = this.src.slice(this.pos, this.pos + digits);
    if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(h)) throw this.error(loc, `'\\${c}' needs ${digits} hex digits`);
    this.pos += digits;
    const cp = parseInt(h, 16);
    if (cp > MAX_CODE_POINT) throw this.error(loc, `U+${h} is not a Unicode code point`);
    return cp;
  }

  private codePointHere(): string {
    const cp = this.src.codePointAt(this.pos)!;
    const ch = String.fromCodePoint(cp);
    this.pos += ch.length;
    return ch;
  }

  private name(): string {
    const start = this.pos;
    while (this.pos < this.src.length && NAME.test(this.src[this.pos])) this.pos++;
    return this.src.slice(start, this.pos);
  }

  /** True at `name ::=`, where the next rule begins. */
  private atRuleStart(): boolean {
    const m = /^[A-Za-z0-9_-]+[ \t]*::=/.exec(this.src.slice(this.pos, this.pos + 200));
    return m !== null;
  }

  private skipSpace(): void {
    while (this.pos < this.src.length) {
      const c = this.src[this.pos];
      if (c === "#") {
        while (this.pos < this.src.length && this.src[this.pos] !== "\n") this.pos++;
      } else if (c === " " || c === "\t" || c === "\n" || c === "\r") this.pos++;
      else break;
    }
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private describeHere(): string {
    const c = this.src[this.pos];
    return c === undefined ? "the end of the grammar" : `'${c}'`;
  }

  private loc(at = this.pos): SourceLoc {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= at) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: at - this.lineStarts[lo] + 1 };
  }

  private error(loc: SourceLoc, message: string) {
    return constraintError(this.what, `line ${loc.line}, column ${loc.column}`, message);
  }
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, "0");
}

/** Parses GBNF text; `what` names the source in error messages (e.g. "constraint.gbnf"). */
export function parseGbnf(text: string, what = "grammar"): Grammar {
  return new GbnfParser(text, what).parse();
}
