/**
 * The `constraint` option of engine.generate(): what the output must be (a JSON schema, any JSON
 * object, a regular expression or a GBNF grammar) and, optionally, the trigger text after which
 * the constraint starts. Compiles it to the byte grammar the native matcher runs.
 */
import { z } from "zod";

import { compileGrammar, type EncodedGrammar } from "./grammar/byte_grammar.js";
import { CompileBudget, CONSTRAINT_LIMITS, type ConstraintLimits } from "./grammar/compile_budget.js";
import { formatGbnf } from "./grammar/gbnf_format.js";
import { parseGbnf } from "./grammar/gbnf_parser.js";
import type { Grammar } from "./grammar/grammar_ast.js";
import { jsonObjectGrammar, jsonSchemaGrammar, type SchemaGrammar } from "./grammar/json_schema_grammar.js";
import { regexFullMatch } from "./grammar/regex_parser.js";

const trigger = z.string().min(1).optional();
/** With a trigger: each complete value re-arms it (several values in one output, e.g. tool calls). */
const rearm = z.boolean().optional();
const schemaObject = z.custom<object>(
  (v) => typeof v === "object" && v !== null && !Array.isArray(v),
  "must be a JSON schema object",
);

export const constraintSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("json_schema"), schema: schemaObject, trigger, rearm }).strict(),
  z.object({ type: z.literal("json_object"), trigger, rearm }).strict(),
  z.object({ type: z.literal("regex"), pattern: z.string(), trigger, rearm }).strict(),
  z.object({ type: z.literal("grammar"), gbnf: z.string(), trigger, rearm }).strict(),
]);

/**
 * A per-request output constraint. Without `trigger` it applies from the first generated token;
 * with one, the model writes freely until the trigger text appears, and the constraint applies to
 * what follows. Generation ends when the constrained value is complete, unless `rearm` (with a
 * trigger): then a complete value makes the output free again until the next trigger, so one
 * output can hold several constrained values (several tool calls in a turn), and generation ends
 * as an unconstrained one does.
 */
export type Constraint = z.infer<typeof constraintSchema>;

/** What a finished constrained generation reports in its result. */
export interface ConstraintOutcome {
  /** False only when a trigger was given and never appeared. */
  triggered: boolean;
  /**
   * The output after the trigger (or all of it without one): the constrained value; with `rearm`,
   * every constrained value, one after the other.
   */
  text: string;
  /** Whether `text` is a complete value of the grammar (false when maxNewTokens or the context cut it short). */
  complete: boolean;
  /**
   * JSON schemas: the keywords that were relaxed, not enforced (e.g. `#/properties/n/multipleOf:
   * 'multipleOf' is not enforced; …`); absent when the grammar is exact.
   */
  warnings?: string[];
}

/** A compiled constraint: the native byte grammar and the keywords relaxed on the way. */
export type CompiledConstraint = EncodedGrammar & { warnings: string[] };

/** How a constraint's source is named in errors. */
export function constraintSourceName(c: Constraint): string {
  return c.type === "json_schema" ? "constraint.schema" : c.type === "regex" ? "constraint.pattern" : "constraint.gbnf";
}

/** The grammar of a constraint (before lowering to bytes). */
export function constraintGrammar(
  c: Constraint,
  budget = new CompileBudget(constraintSourceName(c)),
): Grammar | SchemaGrammar {
  switch (c.type) {
    case "json_schema":
      return jsonSchemaGrammar(c.schema, "constraint.schema", budget);
    case "json_object":
      return jsonObjectGrammar();
    case "regex":
      return {
        rules: new Map([["root", { name: "root", body: regexFullMatch(c.pattern, "constraint.pattern") }]]),
        root: "root",
      };
    case "grammar":
      return parseGbnf(c.gbnf, "constraint.gbnf");
  }
}

const CACHE_SIZE = 64;
const cache = new Map<string, CompiledConstraint>();
/** Results of `prepareConstraint`-style compiles, by the constraint object they were made for. */
const prepared = new WeakMap<object, CompiledConstraint>();

function cacheKey(c: Constraint, limits: Readonly<ConstraintLimits>): string {
  const source = "schema" in c ? c.schema : "pattern" in c ? c.pattern : "gbnf" in c ? c.gbnf : "";
  return JSON.stringify([c.type, source, limits.maxGrammarSize, limits.timeoutMs]);
}

function remember(key: string, compiled: CompiledConstraint): void {
  cache.delete(key);
  cache.set(key, compiled);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
}

/**
 * Compiles a constraint to the native byte grammar, on this thread, within `limits` (past them:
 * ERR_WENXIN_INVALID_ARGUMENT naming the schema path or grammar rule being compiled); recent
 * results are cached by content. A JSON schema keyword the grammar cannot enforce is relaxed and
 * listed in `warnings`.
 */
export function compileConstraint(
  c: Constraint,
  limits: Readonly<ConstraintLimits> = CONSTRAINT_LIMITS,
): CompiledConstraint {
  const key = cacheKey(c, limits);
  const hit = cache.get(key);
  if (hit) {
    remember(key, hit);
    return hit;
  }
  const what = constraintSourceName(c);
  const budget = new CompileBudget(what, limits);
  const grammar = constraintGrammar(c, budget);
  const compiled = {
    ...compileGrammar(grammar, what, budget),
    warnings: "warnings" in grammar ? [...grammar.warnings] : [],
  };
  remember(key, compiled);
  return compiled;
}

/**
 * Records `compiled` as the grammar of `constraint` (the object a caller will pass to
 * engine.generate): compiled elsewhere (a worker thread), it is not compiled again.
 */
export function rememberPrepared(constraint: object, compiled: CompiledConstraint): void {
  prepared.set(constraint, compiled);
}

/** The grammar recorded for this constraint object by `rememberPrepared`, if any. */
export function preparedConstraint(constraint: unknown): CompiledConstraint | undefined {
  return typeof constraint === "object" && constraint !== null ? prepared.get(constraint) : undefined;
}

/** The keywords of a JSON schema that constrained generation relaxes (empty when it enforces all). */
export function jsonSchemaWarnings(schema: object): string[] {
  return compileConstraint({ type: "json_schema", schema }).warnings;
}

/** The GBNF text a JSON schema compiles to (for inspection and debugging). */
export function jsonSchemaToGbnf(schema: object): string {
  return formatGbnf(jsonSchemaGrammar(schema, "schema"));
}
