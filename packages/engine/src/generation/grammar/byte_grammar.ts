/**
 * Lowers a Grammar to the byte-level form the native matcher runs: rules whose alternatives are
 * sequences of byte sets and rule references. Character classes become UTF-8 byte patterns,
 * repetition becomes right-recursive helper rules. The result is checked here, where errors can
 * still name the source: every reference defined, no left recursion, and a finite output possible.
 */
import { CompileBudget } from "./compile_budget.js";
import {
  constraintError,
  locText,
  normalizeRanges,
  type CodePointRanges,
  type Grammar,
  type GrammarExpr,
  type SourceLoc,
} from "./grammar_ast.js";
import { utf8Sequences, type ByteSetRanges } from "./utf8_ranges.js";

/** An element: a rule index (>= 0) or a byte set, -(set index + 1). */
type Elem = number;

interface ByteRule {
  name: string;
  alts: Elem[][];
  loc?: SourceLoc;
  /** Made by the lowering (not named in the source). */
  generated?: boolean;
  /** For repetition helpers: the repetition they stand for. */
  origin?: string;
}

/** The byte grammar as the native addon takes it (see native/src/runtime/grammar/grammar.h). */
export interface EncodedGrammar {
  /** [ruleCount, then per rule: altCount, then per alternative: elemCount, elems...]; rule 0 is the start. */
  rules: Int32Array;
  /** 8 little-endian 32-bit words (256 bits) per byte set. */
  sets: Uint32Array;
}

class Lowering {
  readonly rules: ByteRule[] = [];
  private readonly index = new Map<string, number>();
  private readonly helpers = new Map<string, number>();
  private readonly sets: Uint32Array[] = [];
  private readonly setIndex = new Map<string, number>();
  /** Where the rule being lowered comes from, for limit errors. */
  private where = "";

  constructor(
    private readonly grammar: Grammar,
    private readonly what: string,
    private readonly budget: CompileBudget,
  ) {
    // The start rule first, then the others in definition order.
    const names = [grammar.root, ...[...grammar.rules.keys()].filter((n) => n !== grammar.root)];
    for (const name of names) {
      const rule = grammar.rules.get(name);
      if (!rule) throw constraintError(what, "line 1, column 1", `the start rule '${name}' is not defined`);
      this.index.set(name, this.rules.length);
      this.rules.push({ name, alts: [], loc: rule.loc });
    }
    for (const name of names) {
      const rule = grammar.rules.get(name)!;
      this.where = rule.source ?? locText(rule.loc);
      const r = this.rules[this.index.get(name)!];
      r.alts = this.alternatives(rule.body);
      this.budget.grow(ruleSize(r), this.where);
    }
  }

  encode(): EncodedGrammar {
    const words: number[] = [this.rules.length];
    for (const r of this.rules) {
      words.push(r.alts.length);
      for (const a of r.alts) words.push(a.length, ...a);
    }
    const sets = new Uint32Array(this.sets.length * 8);
    this.sets.forEach((s, i) => sets.set(s, i * 8));
    return { rules: Int32Array.from(words), sets };
  }

  private alternatives(e: GrammarExpr): Elem[][] {
    this.budget.tick(this.where);
    switch (e.kind) {
      case "literal":
        return [[...Buffer.from(e.text, "utf8")].map((b) => this.byteSet([[b, b]]))];
      case "class":
        return this.charClass(e.ranges);
      case "ref": {
        const i = this.index.get(e.name);
        if (i === undefined) throw constraintError(this.what, locText(e.loc), `rule '${e.name}' is not defined`);
        return [[i]];
      }
      case "seq":
        return [e.items.flatMap((item) => this.sequencePart(item))];
      case "alt":
        return e.options.flatMap((o) => this.alternatives(o));
      case "repeat":
        return [this.repeat(e.item, e.min, e.max, e.loc)];
    }
  }

  /** An expression inside a sequence: inline when it has one alternative, else a helper rule. */
  private sequencePart(e: GrammarExpr): Elem[] {
    const alts = this.alternatives(e);
    if (alts.length === 1) return alts[0];
    return [this.helper(`alt:${JSON.stringify(alts)}`, undefined, () => alts)];
  }

  /** One element standing for `e` (a helper rule unless `e` is a single element already). */
  private element(e: GrammarExpr): Elem {
    const alts = this.alternatives(e);
    if (alts.length === 1 && alts[0].length === 1) return alts[0][0];
    return this.helper(`alt:${JSON.stringify(alts)}`, undefined, () => alts);
  }

  private charClass(ranges: CodePointRanges): Elem[][] {
    return utf8Sequences(normalizeRanges(ranges)).map((seq) => seq.map((set) => this.byteSet(set)));
  }

  private repeat(item: GrammarExpr, min: number, max: number, loc: SourceLoc | undefined): Elem[] {
    const e = this.element(item);
    const out: Elem[] = new Array<Elem>(min).fill(e);
    if (max === Infinity) {
      const origin = `the expression repeated with '*' or '+' at ${locText(loc)}`;
      out.push(this.helper(`star:${e}`, origin, (self) => [[e, self], []], loc));
    } else {
      let tail: Elem | undefined;
      for (let k = 1; k <= max - min; k++) {
        const next = tail;
        tail = this.helper(`opt:${e}:${k}`, undefined, () => [next === undefined ? [e] : [e, next], []], loc);
      }
      if (tail !== undefined) out.push(tail);
    }
    return out;
  }

  private helper(key: string, origin: string | undefined, build: (self: number) => Elem[][], loc?: SourceLoc): number {
    const found = this.helpers.get(key);
    if (found !== undefined) return found;
    const i = this.rules.length;
    this.helpers.set(key, i);
    this.rules.push({ name: `#${i}`, alts: [], loc, generated: true, origin });
    this.rules[i].alts = build(i);
    this.budget.grow(ruleSize(this.rules[i]), this.where);
    return i;
  }

  private byteSet(ranges: ByteSetRanges): Elem {
    const words = new Uint32Array(8);
    for (const [lo, hi] of ranges) for (let b = lo; b <= hi; b++) words[b >> 5] |= 1 << (b & 31);
    const key = words.join(",");
    let i = this.setIndex.get(key);
    if (i === undefined) {
      i = this.sets.length;
      this.sets.push(words);
      this.setIndex.set(key, i);
    }
    return -(i + 1);
  }
}

/** A rule's words in the encoded grammar: its alternative count, then each alternative's length and elements. */
function ruleSize(r: ByteRule): number {
  let n = 1;
  for (const a of r.alts) n += 1 + a.length;
  return n;
}

/** Shortest output of each rule in bytes (Infinity: it can never finish). */
function minLengths(rules: ByteRule[], budget: CompileBudget): number[] {
  const len = rules.map(() => Infinity);
  for (let changed = true; changed;) {
    budget.checkTime("(while checking the grammar)");
    changed = false;
    rules.forEach((r, i) => {
      for (const a of r.alts) {
        let n = 0;
        for (const e of a) n += e < 0 ? 1 : len[e];
        if (n < len[i]) {
          len[i] = n;
          changed = true;
        }
      }
    });
  }
  return len;
}

/** Rejects left recursion: a rule that can reach itself without consuming a byte. */
function checkLeftRecursion(rules: ByteRule[], len: number[], what: string): void {
  const corners = rules.map((r) => {
    const out = new Set<number>();
    for (const a of r.alts) {
      for (const e of a) {
        if (e < 0) break;
        out.add(e);
        if (len[e] !== 0) break;
      }
    }
    return out;
  });
  const state = new Uint8Array(rules.length); // 0 new, 1 on the path, 2 done
  const path: number[] = [];
  const visit = (i: number): void => {
    state[i] = 1;
    path.push(i);
    for (const j of corners[i]) {
      if (state[j] === 1) {
        const cycle = path.slice(path.indexOf(j)).map((k) => rules[k]);
        const star = cycle.find((r) => r.origin);
        if (star)
          throw constraintError(
            what,
            locText(star.loc),
            `${star.origin} can match the empty string, so it would repeat forever`,
          );
        const named = cycle.filter((r) => !r.generated);
        const chain = [...named, named[0]].map((r) => r.name).join(" -> ");
        throw constraintError(
          what,
          locText(named[0].loc),
          `rule '${named[0].name}' is left-recursive (${chain}); rewrite it with repetition`,
        );
      }
      if (state[j] === 0) visit(j);
    }
    path.pop();
    state[i] = 2;
  };
  for (let i = 0; i < rules.length; i++) if (state[i] === 0) visit(i);
}

/**
 * Compiles a grammar to the native byte form. `what` names the source in errors
 * (e.g. "constraint.gbnf"). Alternatives that can never finish are dropped.
 */
export function compileGrammar(
  grammar: Grammar,
  what = "grammar",
  budget: CompileBudget = new CompileBudget(what),
): EncodedGrammar {
  const lowering = new Lowering(grammar, what, budget);
  const rules = lowering.rules;
  const len = minLengths(rules, budget);
  if (len[0] === Infinity) {
    const stuck = rules.filter((r, i) => i > 0 && !r.generated && len[i] === Infinity).map((r) => `'${r.name}'`);
    const also = stuck.length > 0 ? ` (nor can ${stuck.slice(0, 5).join(", ")})` : "";
    throw constraintError(
      what,
      locText(rules[0].loc),
      `rule '${rules[0].name}' can never finish: every alternative recurses without end${also}`,
    );
  }
  for (const r of rules) r.alts = r.alts.filter((a) => a.every((e) => e < 0 || len[e] !== Infinity));
  checkLeftRecursion(rules, len, what);
  return lowering.encode();
}
