// Test helper: a JavaScript RegExp for a regular GrammarExpr (no rule references), so the
// compiler's regular pieces can be checked against the JS engine, independently of the native matcher.
import type { GrammarExpr } from "../../src/generation/grammar/grammar_ast.js";

function cp(c: number): string {
  return `\\u{${c.toString(16)}}`;
}

function source(e: GrammarExpr): string {
  switch (e.kind) {
    case "literal":
      return [...e.text].map((c) => cp(c.codePointAt(0)!)).join("");
    case "class":
      return e.ranges.length === 0
        ? "[]"
        : `[${e.ranges.map(([lo, hi]) => (lo === hi ? cp(lo) : `${cp(lo)}-${cp(hi)}`)).join("")}]`;
    case "seq":
      return e.items.map((i) => `(?:${source(i)})`).join("");
    case "alt":
      return e.options.map((o) => `(?:${source(o)})`).join("|");
    case "repeat":
      return `(?:${source(e.item)}){${e.min},${e.max === Infinity ? "" : e.max}}`;
    case "ref":
      throw new Error(`expr_regexp: rule references (${e.name}) are not regular`);
  }
}

/** A RegExp that matches exactly the strings of `e` (whole-string match). */
export function exprRegExp(e: GrammarExpr): RegExp {
  return new RegExp(`^(?:${source(e)})$`, "u");
}
