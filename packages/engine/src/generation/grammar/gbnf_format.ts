/**
 * Writes a Grammar as GBNF text, e.g. to see what a JSON schema compiles to. Parsing the text
 * with parseGbnf gives back the same language.
 */
import type { CodePointRanges, Grammar, GrammarExpr } from "./grammar_ast.js";

function escapeChar(cp: number, inClass: boolean): string {
  if (cp === 0x0a) return "\\n";
  if (cp === 0x0d) return "\\r";
  if (cp === 0x09) return "\\t";
  if (cp === 0x5c) return "\\\\";
  if (!inClass && cp === 0x22) return '\\"';
  if (inClass && (cp === 0x5d || cp === 0x5e || cp === 0x2d || cp === 0x5b)) return `\\${String.fromCodePoint(cp)}`;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp > 0xffff) return `\\U${cp.toString(16).toUpperCase().padStart(8, "0")}`;
  if (cp >= 0x80 && inClass) return `\\u${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  return String.fromCodePoint(cp);
}

function formatClass(ranges: CodePointRanges): string {
  if (ranges.length === 1 && ranges[0][0] === 0 && ranges[0][1] === 0x10ffff) return ".";
  const body = ranges
    .map(([lo, hi]) => (lo === hi ? escapeChar(lo, true) : `${escapeChar(lo, true)}-${escapeChar(hi, true)}`))
    .join("");
  return `[${body}]`;
}

function formatExpr(e: GrammarExpr, parent: "top" | "seq" | "repeat"): string {
  switch (e.kind) {
    case "literal":
      return `"${[...e.text].map((c) => escapeChar(c.codePointAt(0)!, false)).join("")}"`;
    case "class":
      return formatClass(e.ranges);
    case "ref":
      return e.name;
    case "seq": {
      const items = e.items.filter((i) => !(i.kind === "seq" && i.items.length === 0));
      if (items.length === 0) return '""';
      const s = items.map((i) => formatExpr(i, "seq")).join(" ");
      return parent === "repeat" && items.length > 1 ? `(${s})` : s;
    }
    case "alt": {
      const s = e.options.map((o) => formatExpr(o, "top")).join(" | ");
      return parent === "top" ? s : `(${s})`;
    }
    case "repeat": {
      const inner = formatExpr(e.item, "repeat");
      const { min, max } = e;
      const op =
        min === 0 && max === Infinity
          ? "*"
          : min === 1 && max === Infinity
            ? "+"
            : min === 0 && max === 1
              ? "?"
              : max === Infinity
                ? `{${min},}`
                : min === max
                  ? `{${min}}`
                  : `{${min},${max}}`;
      return `${inner}${op}`;
    }
  }
}

export function formatGbnf(grammar: Grammar): string {
  const names = [grammar.root, ...[...grammar.rules.keys()].filter((n) => n !== grammar.root)];
  return names.map((n) => `${n} ::= ${formatExpr(grammar.rules.get(n)!.body, "top")}`).join("\n") + "\n";
}
