/**
 * Keys for additional object members: any JSON string except the declared property names, so that
 * an extra member can never repeat (and, on parse, override) a declared one. Such keys are written
 * without escapes, which keeps "not one of these names" expressible as a small trie of rules.
 */
import {
  complementRanges,
  normalizeRanges,
  literal,
  seq,
  alt,
  type CodePointRanges,
  type GrammarExpr,
  type GrammarRule,
} from "./grammar_ast.js";
import { cls, ref, rep } from "./json_primitives.js";

/** Characters a key may hold unescaped: no quote, backslash or control character. */
const PLAIN: CodePointRanges = [
  [0x20, 0x21],
  [0x23, 0x5b],
  [0x5d, 0x10ffff],
];

function minus(a: CodePointRanges, cps: number[]): CodePointRanges {
  if (cps.length === 0) return a;
  const hole = complementRanges(cps.map((c) => [c, c] as [number, number]));
  const out: CodePointRanges = [];
  for (const [lo, hi] of a)
    for (const [hlo, hhi] of hole) {
      const l = Math.max(lo, hlo);
      const h = Math.min(hi, hhi);
      if (l <= h) out.push([l, h]);
    }
  return out;
}

interface TrieNode {
  children: Map<number, TrieNode>;
  end: boolean;
}

/**
 * A JSON string that is none of `names`, as rules named `<base>`, `<base>-1`, … added to `rules`
 * (`source` says where they come from, for errors).
 */
export function exceptStrings(
  names: string[],
  rules: Map<string, GrammarRule>,
  base: string,
  source?: string,
): GrammarExpr {
  const root: TrieNode = { children: new Map(), end: false };
  for (const name of names) {
    const cps = [...name].map((c) => c.codePointAt(0)!);
    if (cps.some((c) => c < 0x20 || c === 0x22 || c === 0x5c)) continue; // never written without escapes
    let node = root;
    for (const c of cps) {
      let next = node.children.get(c);
      if (!next) node.children.set(c, (next = { children: new Map(), end: false }));
      node = next;
    }
    node.end = true;
  }
  const plainRun = seq(rep(cls(PLAIN), 0, Infinity), literal('"'));
  let counter = 0;
  const build = (node: TrieNode): GrammarExpr => {
    const name = counter === 0 ? base : `${base}-${counter}`;
    counter++;
    rules.set(name, { name, body: literal("") });
    const options: GrammarExpr[] = [];
    if (!node.end) options.push(literal('"'));
    const other = minus(PLAIN, [...node.children.keys()]);
    if (other.length > 0) options.push(seq(cls(other), plainRun));
    for (const [c, child] of node.children) options.push(seq(literal(String.fromCodePoint(c)), build(child)));
    rules.set(name, { name, body: alt(...options), ...(source !== undefined && { source }) });
    return ref(name);
  };
  return seq(literal('"'), build(root));
}

/** An NFA over code points, built from a regular expression (Thompson's construction). */
class KeyNfa {
  readonly eps: number[][] = [];
  readonly edges: { ranges: CodePointRanges; to: number }[][] = [];
  private readonly closures = new Map<number, number[]>();

  constructor(private readonly grow: () => void) {}

  add(): number {
    this.grow();
    this.eps.push([]);
    this.edges.push([]);
    return this.eps.length - 1;
  }

  /** States for `e` from `from`; returns the state where it ends. */
  build(e: GrammarExpr, from: number): number {
    switch (e.kind) {
      case "literal": {
        let cur = from;
        for (const ch of e.text) {
          const next = this.add();
          const c = ch.codePointAt(0)!;
          this.edges[cur].push({ ranges: [[c, c]], to: next });
          cur = next;
        }
        return cur;
      }
      case "class": {
        const next = this.add();
        this.edges[from].push({ ranges: e.ranges, to: next });
        return next;
      }
      case "seq":
        return e.items.reduce((cur, item) => this.build(item, cur), from);
      case "alt": {
        const end = this.add();
        for (const o of e.options) this.eps[this.build(o, from)].push(end);
        return end;
      }
      case "repeat": {
        let cur = from;
        for (let i = 0; i < e.min; i++) cur = this.build(e.item, cur);
        if (e.max === Infinity) {
          const loop = this.add();
          this.eps[cur].push(loop);
          this.eps[this.build(e.item, loop)].push(loop);
          return loop;
        }
        const end = this.add();
        for (let i = e.min; i < e.max; i++) {
          this.eps[cur].push(end);
          cur = this.build(e.item, cur);
        }
        this.eps[cur].push(end);
        return end;
      }
      case "ref":
        throw new Error("a key pattern cannot refer to rules");
    }
  }

  /** The states reachable from `q` without reading. */
  closure(q: number): number[] {
    let c = this.closures.get(q);
    if (c === undefined) {
      const seen = new Set([q]);
      const stack = [q];
      while (stack.length > 0) for (const n of this.eps[stack.pop()!]) if (!seen.has(n) && seen.add(n)) stack.push(n);
      c = [...seen];
      this.closures.set(q, c);
    }
    return c;
  }
}

function intersect(a: CodePointRanges, b: CodePointRanges): CodePointRanges {
  const out: CodePointRanges = [];
  for (const [alo, ahi] of a)
    for (const [blo, bhi] of b) {
      const l = Math.max(alo, blo);
      const h = Math.min(ahi, bhi);
      if (l <= h) out.push([l, h]);
    }
  return out;
}

/**
 * A JSON string whose text `pattern` (a regular expression's full-match expression, e.g. from
 * `regexSearch`) matches and that is none of `names`: the product of the pattern's automaton with
 * the trie of the names, as rules named `<base>-<n>` added to `rules` (`source` says where they
 * come from, for errors; `grow` is called per automaton state, to bound the work). Like
 * `exceptStrings`, it writes keys without escapes; when no such key exists, the expression can
 * never finish (and the lowering drops the alternatives that need it).
 */
export function patternExceptStrings(
  pattern: GrammarExpr,
  names: string[],
  rules: Map<string, GrammarRule>,
  base: string,
  source: string | undefined,
  grow: () => void,
): GrammarExpr {
  const root: TrieNode = { children: new Map(), end: false };
  for (const name of names) {
    let node = root;
    for (const ch of name) {
      const c = ch.codePointAt(0)!;
      let next = node.children.get(c);
      if (!next) node.children.set(c, (next = { children: new Map(), end: false }));
      node = next;
    }
    node.end = true;
  }
  const nfa = new KeyNfa(grow);
  const start = nfa.add();
  const accept = nfa.build(pattern, start);

  // One rule per (automaton state, trie node) pair reached; `null`: past the trie (no name can follow).
  const nodeIds = new Map<TrieNode, number>();
  const ruleOf = new Map<string, { name: string; q: number; node: TrieNode | null }>();
  const work: { name: string; q: number; node: TrieNode | null }[] = [];
  const refTo = (q: number, node: TrieNode | null): GrammarExpr => {
    let id = node === null ? -1 : nodeIds.get(node);
    if (id === undefined) nodeIds.set(node!, (id = nodeIds.size));
    const key = `${q}:${id}`;
    let r = ruleOf.get(key);
    if (!r) {
      r = { name: `${base}-${ruleOf.size}`, q, node };
      ruleOf.set(key, r);
      work.push(r);
    }
    return ref(r.name);
  };
  const first = refTo(start, root);
  const made: { name: string; options: GrammarExpr[] }[] = [];
  for (let r = work.pop(); r !== undefined; r = work.pop()) {
    grow();
    const options: GrammarExpr[] = [];
    const states = nfa.closure(r.q);
    if (states.includes(accept) && (r.node === null || !r.node.end)) options.push(literal('"'));
    for (const s of states)
      for (const edge of nfa.edges[s]) {
        const chars = intersect(normalizeRanges(edge.ranges), PLAIN);
        if (chars.length === 0) continue;
        if (r.node === null) {
          options.push(seq(cls(chars), refTo(edge.to, null)));
          continue;
        }
        const children = [...r.node.children.keys()];
        for (const c of children)
          if (chars.some(([lo, hi]) => c >= lo && c <= hi))
            options.push(seq(literal(String.fromCodePoint(c)), refTo(edge.to, r.node.children.get(c)!)));
        const other = minus(chars, children);
        if (other.length > 0) options.push(seq(cls(other), refTo(edge.to, null)));
      }
    made.push({ name: r.name, options });
  }
  // Rules that cannot end a key are dropped by the lowering; if the first cannot, there is no key.
  for (const { name, options } of made)
    rules.set(name, {
      name,
      body: options.length > 0 ? alt(...options) : cls([]),
      ...(source !== undefined && { source }),
    });
  return seq(literal('"'), first);
}
