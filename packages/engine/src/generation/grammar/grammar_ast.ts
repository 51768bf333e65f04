/**
 * The grammar every constraint is turned into before it reaches the native matcher: named rules
 * over code points (literals, character classes, references, sequences, alternatives and bounded
 * repetition). GBNF text, regular expressions and JSON schemas are all parsed into this form.
 */
import { WenxinError } from "../../errors.js";

/** Where something is in the source text (1-based). */
export interface SourceLoc {
  line: number;
  column: number;
}

/** A set of code points as sorted, non-overlapping, non-adjacent inclusive ranges. */
export type CodePointRanges = [number, number][];

export type GrammarExpr =
  | { kind: "literal"; text: string; loc?: SourceLoc }
  | { kind: "class"; ranges: CodePointRanges; loc?: SourceLoc }
  | { kind: "ref"; name: string; loc?: SourceLoc }
  | { kind: "seq"; items: GrammarExpr[] }
  | { kind: "alt"; options: GrammarExpr[] }
  | { kind: "repeat"; item: GrammarExpr; min: number; max: number; loc?: SourceLoc };

export interface GrammarRule {
  name: string;
  body: GrammarExpr;
  loc?: SourceLoc;
  /** Where the rule comes from when it is not source text (e.g. `at #/properties/a` of a JSON schema), for errors. */
  source?: string;
}

export interface Grammar {
  /** Rules by name, in definition order. */
  rules: Map<string, GrammarRule>;
  root: string;
}

export const MAX_CODE_POINT = 0x10ffff;
/** The largest bound a repetition may have: each step becomes a rule of the compiled grammar. */
export const MAX_REPEAT = 10_000;

/** Sorts, merges and drops surrogates (which UTF-8 cannot encode). */
export function normalizeRanges(ranges: CodePointRanges): CodePointRanges {
  const split: CodePointRanges = [];
  for (const [lo, hi] of ranges) {
    if (lo > hi) continue;
    if (lo < 0xd800 && hi > 0xdfff) split.push([lo, 0xd7ff], [0xe000, hi]);
    else if (lo >= 0xd800 && hi <= 0xdfff) continue;
    else if (lo >= 0xd800 && lo <= 0xdfff) split.push([0xe000, hi]);
    else if (hi >= 0xd800 && hi <= 0xdfff) split.push([lo, 0xd7ff]);
    else split.push([lo, hi]);
  }
  split.sort((a, b) => a[0] - b[0]);
  const out: CodePointRanges = [];
  for (const [lo, hi] of split) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** Every code point not in `ranges`. */
export function complementRanges(ranges: CodePointRanges): CodePointRanges {
  const norm = normalizeRanges(ranges);
  const out: CodePointRanges = [];
  let next = 0;
  for (const [lo, hi] of norm) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return normalizeRanges(out);
}

export function literal(text: string): GrammarExpr {
  return { kind: "literal", text };
}

export function seq(...items: GrammarExpr[]): GrammarExpr {
  return items.length === 1 ? items[0] : { kind: "seq", items };
}

export function alt(...options: GrammarExpr[]): GrammarExpr {
  return options.length === 1 ? options[0] : { kind: "alt", options };
}

/** A constraint that cannot be compiled; `where` names the offending part (a schema path, line:column). */
export function constraintError(what: string, where: string, message: string): WenxinError {
  return new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", `${what} ${where}: ${message}`, {
    subject: `${what} ${where}`,
  });
}

export function locText(loc: SourceLoc | undefined): string {
  return loc ? `line ${loc.line}, column ${loc.column}` : "(generated)";
}
