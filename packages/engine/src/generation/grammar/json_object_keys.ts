/**
 * Keys for additional object members: any JSON string except the declared property names, so that
 * an extra member can never repeat (and, on parse, override) a declared one. Such keys are written
 * without escapes, which keeps "not one of these names" expressible as a small trie of rules.
 */
import {
  complementRanges,
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
