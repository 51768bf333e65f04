/**
 * JSON Schema → Grammar, for what zod 4's toJSONSchema, pydantic, OpenAI tool definitions and
 * LangChain produce: type (one or a list), properties / required / additionalProperties (a boolean
 * or a schema) / patternProperties / propertyNames / minProperties / maxProperties, items /
 * prefixItems / minItems / maxItems, enum / const, string length, pattern and common formats,
 * integer and number bounds, anyOf / oneOf / allOf, simple `not` (of a type, a const or an enum),
 * $ref into the same document ($defs at any depth, definitions, "#", siblings beside $ref), and
 * OpenAPI's nullable. Annotations (title, description, default, …) are ignored.
 *
 * A keyword that only narrows and that the grammar cannot enforce (multipleOf, uniqueItems,
 * contains, if/then/else, dependentRequired, a `not` of anything else, a regex feature the
 * matcher lacks, an unknown format, …) is relaxed: the grammar allows a superset, and a warning
 * naming the schema path is returned with the grammar (never an error). Only a schema that allows
 * no value at all, or one that is malformed, is refused.
 *
 * Output shape: object members appear in the order of `properties`; properties that are not
 * required may be left out; without `additionalProperties` no other members are generated (a valid
 * subset). oneOf is generated as anyOf, so its branches must not overlap. Additional members
 * (additionalProperties, patternProperties, propertyNames) never repeat a declared property's key,
 * and a declared property that a pattern matches meets that pattern's schema too; two additional
 * members may still share a key (that no context-free grammar can exclude).
 */
import {
  MAX_REPEAT,
  alt,
  constraintError,
  literal,
  seq,
  type Grammar,
  type GrammarExpr,
  type GrammarRule,
} from "./grammar_ast.js";
import {
  addJsonRule,
  boundedInteger,
  boundedNumber,
  boundedString,
  formatString,
  jsonEscaped,
  jsonLiteral,
  opt,
  ref,
  rep,
  type NumericBound,
} from "./json_primitives.js";
import { CompileBudget } from "./compile_budget.js";
import { regexSearch } from "./regex_parser.js";
import { exceptStrings, patternExceptStrings } from "./json_object_keys.js";

type Schema = Record<string, unknown>;

/** A JSON schema's grammar, with the keywords that were relaxed (not enforced) on the way. */
export interface SchemaGrammar extends Grammar {
  /** One line per relaxed keyword: `#/path/keyword: why` (empty when the grammar is exact). */
  warnings: string[];
}

/** Keywords that narrow in ways the grammar does not enforce: relaxed with a warning. */
const RELAXED: Record<string, string> = {
  if: "conditional schemas (if/then/else) are not enforced",
  then: "conditional schemas (if/then/else) are not enforced",
  else: "conditional schemas (if/then/else) are not enforced",
  dependentRequired: "'dependentRequired' is not enforced",
  dependentSchemas: "'dependentSchemas' is not enforced",
  dependencies: "'dependencies' is not enforced",
  contains: "'contains' is not enforced",
  minContains: "'minContains' is not enforced",
  maxContains: "'maxContains' is not enforced",
  multipleOf: "'multipleOf' is not enforced",
  unevaluatedItems: "'unevaluatedItems' is not enforced",
};
/** Keywords handled where they apply (objects, `not`, references). */
const HANDLED = [
  "not",
  "patternProperties",
  "propertyNames",
  "unevaluatedProperties",
  "minProperties",
  "maxProperties",
  "$dynamicRef",
  "$recursiveRef",
];
const UNSUPPORTED = [...Object.keys(RELAXED), ...HANDLED];
/** Keywords that constrain a value (anything else is an annotation or unknown, and ignored). */
const CONSTRAINING = new Set([
  "type",
  "enum",
  "const",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "prefixItems",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minLength",
  "maxLength",
  "pattern",
  "format",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "anyOf",
  "oneOf",
  "allOf",
  "$ref",
  "nullable",
  ...UNSUPPORTED,
]);
/** How deep schemas may nest while compiling (references to named rules do not count). */
const MAX_DEPTH = 256;
const TYPES = ["object", "array", "string", "number", "integer", "boolean", "null"];

/**
 * True for a `propertyNames` that every key meets (keys are strings): what zod writes for
 * `z.record(z.string(), …)`. Any other `propertyNames` is unsupported.
 */
function allowsAnyKey(names: unknown): boolean {
  if (names === true) return true;
  if (!isSchemaObject(names)) return false;
  const constraining = Object.keys(names).filter((k) => CONSTRAINING.has(k) || UNSUPPORTED.includes(k));
  return constraining.every((k) => k === "type") && (names.type === undefined || names.type === "string");
}

/** Whether `pattern` (a JSON Schema regular expression) may match `text`: true when JavaScript cannot tell. */
function mayMatch(pattern: string, text: string): boolean {
  try {
    return new RegExp(pattern, "u").test(text);
  } catch {
    return true;
  }
}

function escapePointer(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

function isSchemaObject(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

class SchemaCompiler {
  readonly rules = new Map<string, GrammarRule>();
  readonly warnings: string[] = [];
  private depth = 0;
  /** The path of the schema being compiled: where the rules made now come from (for limit errors). */
  private current = "#";
  private readonly refRules = new Map<string, string>();
  private readonly usedNames = new Set<string>();
  /** The next suffix to try per name base, so that naming stays O(1) however many rules share a base. */
  private readonly nextSuffix = new Map<string, number>();
  /**
   * Property values compiled so far, by identity. anyOf/oneOf branches inherit their siblings'
   * `properties`, so without this a value nested k such levels deep was compiled 2^k times (a
   * 1 KB schema took seconds): a value reached again reuses its rule, and compiling stays linear.
   */
  private readonly compiled = new WeakMap<object, GrammarExpr>();

  constructor(
    private readonly root: unknown,
    private readonly what: string,
    private readonly budget: CompileBudget,
  ) {}

  compile(): SchemaGrammar {
    this.usedNames.add("root");
    this.rules.set("root", { name: "root", body: literal("") }); // keeps "root" first
    this.rules.set("root", { name: "root", body: this.schema(this.root, "#"), source: "at #" });
    return { rules: this.rules, root: "root", warnings: this.warnings };
  }

  private error(path: string, message: string) {
    return constraintError(this.what, `at ${path}`, message);
  }

  /** Records a relaxed keyword (once per path). */
  private relax(path: string, message: string): void {
    const line = `${path}: ${message}; the output may not meet it`;
    if (!this.warnings.includes(line)) this.warnings.push(line);
  }

  /** A named rule for `body` (so that big sub-schemas are shared, not copied). */
  private named(hint: string, body: GrammarExpr): GrammarExpr {
    const name = this.freshName(hint);
    this.rules.set(name, { name, body, source: `at ${this.current}` });
    this.budget.tick(`at ${this.current}`);
    return ref(name);
  }

  private freshName(hint: string): string {
    const base =
      hint
        .replace(/[^A-Za-z0-9-]+/g, "-")
        .replace(/^-+|-+$/g, "")
        .slice(0, 40) || "r";
    // rules.has: helpers such as exceptStrings name their rules `<fresh name>-<n>` themselves
    const taken = (n: string) => this.usedNames.has(n) || this.rules.has(n) || n.startsWith("json-") || n === "ws";
    let name = base;
    if (taken(name)) {
      let i = this.nextSuffix.get(base) ?? 2;
      while (taken(`${base}-${i}`)) i++;
      name = `${base}-${i}`;
      this.nextSuffix.set(base, i + 1);
    }
    this.usedNames.add(name);
    return name;
  }

  private json(name: string): GrammarExpr {
    return addJsonRule(this.rules, name);
  }

  schema(s: unknown, path: string): GrammarExpr {
    if (++this.depth > MAX_DEPTH)
      throw this.error(path, `the schema nests deeper than ${MAX_DEPTH} levels (a reference that contains itself?)`);
    this.budget.checkTime(`at ${path}`);
    const outer = this.current;
    this.current = path;
    try {
      return this.schemaAt(s, path);
    } finally {
      this.depth--;
      this.current = outer;
    }
  }

  private schemaAt(s: unknown, path: string): GrammarExpr {
    if (s === true) return this.json("json-value");
    if (s === false) throw this.error(path, "the schema `false` allows no value");
    if (!isSchemaObject(s)) throw this.error(path, "a schema must be an object or a boolean");
    for (const [k, why] of Object.entries(RELAXED))
      if (k in s && !((k === "then" || k === "else") && "if" in s)) this.relax(`${path}/${k}`, why);
    if (s.uniqueItems === true) this.relax(`${path}/uniqueItems`, "'uniqueItems' is not enforced");
    if ("not" in s) {
      const { not, ...rest } = s;
      return this.negated(rest, not, path);
    }
    for (const k of ["$recursiveRef", "$dynamicRef"] as const) {
      if (!(k in s)) continue;
      const { [k]: target, ...rest } = s;
      if (typeof target === "string" && target.startsWith("#") && !("$ref" in s))
        return this.schema({ ...rest, $ref: target }, path); // without dynamic scopes: a plain reference
      this.relax(`${path}/${k}`, `'${k}' to ${JSON.stringify(target)} is not followed`);
      return this.schema(rest, path);
    }

    if (s.nullable === true) {
      // OpenAPI 3.0.3: with enum/const, null is allowed only when listed.
      const { nullable: _n, ...rest } = s;
      return "enum" in s || "const" in s ? this.schema(rest, path) : alt(this.schema(rest, path), literal("null"));
    }
    if ("$ref" in s) return this.reference(s, path);
    if ("allOf" in s) return this.schema(this.mergeAllOf(s, path), path);
    for (const key of ["anyOf", "oneOf"] as const) {
      if (key in s) {
        const branches = s[key];
        if (!Array.isArray(branches) || branches.length === 0)
          throw this.error(`${path}/${key}`, `'${key}' must be a non-empty array`);
        const { [key]: _b, ...siblings } = s;
        return alt(
          ...branches.map((b, i) =>
            this.schema(this.withSiblings(b, siblings, `${path}/${key}/${i}`), `${path}/${key}/${i}`),
          ),
        );
      }
    }
    if ("const" in s) return this.enumeration([s.const], s, `${path}/const`);
    if ("enum" in s) {
      if (!Array.isArray(s.enum) || s.enum.length === 0)
        throw this.error(`${path}/enum`, "'enum' must be a non-empty array");
      return this.enumeration(s.enum, s, `${path}/enum`);
    }
    const types = this.types(s, path);
    if (types === undefined) return this.json("json-value");
    return alt(...types.map((t) => this.typed(t, s, path)));
  }

  /**
   * `rest` without what `not` excludes. Enforced: `not` of a type (or a list of types), and `not`
   * of a const or an enum against an enum, a const or a plain string; anything else is relaxed.
   */
  private negated(rest: Schema, not: unknown, path: string): GrammarExpr {
    const at = `${path}/not`;
    if (not === true || (isSchemaObject(not) && !Object.keys(not).some((k) => CONSTRAINING.has(k))))
      throw this.error(at, "'not' of a schema that allows everything allows no value");
    if (not === false) return this.schema(rest, path);
    if (!isSchemaObject(not)) throw this.error(at, "a schema must be an object or a boolean");
    const keys = Object.keys(not).filter((k) => CONSTRAINING.has(k));
    if (keys.length === 1 && keys[0] === "type") {
      const excluded = Array.isArray(not.type) ? not.type : [not.type];
      const types = this.types(rest, path) ?? TYPES.filter((t) => t !== "integer");
      let kept = types.filter((t) => !excluded.includes(t) && !(t === "integer" && excluded.includes("number")));
      if (kept.includes("number") && excluded.includes("integer") && !excluded.includes("number")) {
        this.relax(at, "'not' of integer leaves numbers that may be whole");
        kept = kept.filter((t) => t !== "integer");
      }
      if (kept.length === 0) throw this.error(at, "'not' excludes every type the schema allows");
      return this.schema({ ...rest, type: kept }, path);
    }
    if (
      keys.length === 1 &&
      (keys[0] === "const" || keys[0] === "enum") &&
      (keys[0] === "const" || Array.isArray(not.enum))
    ) {
      const banned = keys[0] === "const" ? [not.const] : (not.enum as unknown[]);
      const bannedText = new Set(banned.map((v) => JSON.stringify(v)));
      if ("enum" in rest || "const" in rest) {
        const { enum: list, const: one, ...others } = rest;
        const values = ("const" in rest ? [one] : Array.isArray(list) ? list : []).filter(
          (v) => !bannedText.has(JSON.stringify(v)),
        );
        if (values.length === 0) throw this.error(at, "'not' excludes every listed value");
        return this.schema({ ...others, enum: values }, path);
      }
      const types = this.types(rest, path);
      const plainString =
        types?.length === 1 &&
        types[0] === "string" &&
        !["minLength", "maxLength", "pattern", "format"].some((k) => k in rest);
      if (plainString) {
        // Strings that need escapes are never written by this rule, so they are excluded too.
        const names = banned.filter((v): v is string => typeof v === "string");
        return this.named(
          `${path}-not`,
          exceptStrings(names, this.rules, this.freshName(`${path}-except`), `at ${path}`),
        );
      }
    }
    this.relax(at, "only 'not' of a type, a const or an enum is enforced");
    return this.schema(rest, path);
  }

  /** The schema's types: listed, or inferred from the keywords present; undefined: any value. */
  private types(s: Schema, path: string): string[] | undefined {
    if ("type" in s) {
      const list = Array.isArray(s.type) ? s.type : [s.type];
      if (list.length === 0) throw this.error(`${path}/type`, "'type' must not be an empty list");
      for (const t of list)
        if (typeof t !== "string" || !TYPES.includes(t))
          throw this.error(`${path}/type`, `unknown type ${JSON.stringify(t)}`);
      // "integer" is a subset of "number": listing both is "number".
      return (list as string[]).filter(
        (t, i) => list.indexOf(t) === i && !(t === "integer" && list.includes("number")),
      );
    }
    if (["properties", "required", "additionalProperties"].some((k) => k in s)) return ["object"];
    if (["items", "prefixItems", "minItems", "maxItems"].some((k) => k in s)) return ["array"];
    if (["minLength", "maxLength", "pattern", "format"].some((k) => k in s)) return ["string"];
    if (["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"].some((k) => k in s)) return ["number"];
    return undefined;
  }

  private typed(type: string, s: Schema, path: string): GrammarExpr {
    switch (type) {
      case "object":
        return this.object(s, path);
      case "array":
        return this.array(s, path);
      case "string":
        return this.string(s, path);
      case "integer":
      case "number":
        return this.numeric(type, s, path);
      case "boolean":
        return alt(literal("true"), literal("false"));
      default:
        return literal("null");
    }
  }

  private enumeration(values: unknown[], s: Schema, path: string): GrammarExpr {
    const types = "type" in s ? this.types(s, path.slice(0, path.lastIndexOf("/"))) : undefined;
    const allowed = values.filter((v) => {
      const t = typeOf(v);
      return types === undefined || types.includes(t) || (t === "integer" && types.includes("number"));
    });
    if (allowed.length === 0) throw this.error(path, "no listed value has the schema's type");
    const seen = new Set<string>();
    const options: GrammarExpr[] = [];
    for (const v of allowed) {
      const text = JSON.stringify(v);
      if (text === undefined) throw this.error(path, "values must be JSON values");
      if (!seen.has(text)) options.push(jsonLiteral(v));
      seen.add(text);
    }
    return alt(...options);
  }

  private reference(s: Schema, path: string): GrammarExpr {
    const extra = Object.keys(s).filter((k) => k !== "$ref" && CONSTRAINING.has(k));
    if (extra.length > 0) {
      // Draft 2019+: keywords beside $ref apply too, as if both were in an allOf.
      const { $ref, ...siblings } = s;
      return this.schema({ allOf: [{ $ref }, siblings] }, path);
    }
    const { pointer, node } = this.target(s.$ref, path);
    let name = this.refRules.get(pointer);
    if (name !== undefined) return ref(name);
    this.checkRefChain(pointer, node);
    name = pointer === "" ? "root" : this.freshName(`def-${pointer.split("/").pop()}`);
    this.refRules.set(pointer, name);
    if (pointer !== "") {
      this.rules.set(name, { name, body: literal("") }); // reserved: the target may refer to itself
      this.rules.set(name, { name, body: this.schema(node, `#${pointer}`), source: `at #${pointer}` });
    }
    return ref(name);
  }

  /** What a same-document reference points at. */
  private target(target: unknown, path: string): { pointer: string; node: unknown } {
    if (typeof target !== "string" || !target.startsWith("#"))
      throw this.error(
        `${path}/$ref`,
        `only references into the same schema ("#/...") are supported, got ${JSON.stringify(target)}`,
      );
    const pointer = this.fragment(target, path);
    if (pointer !== "" && !pointer.startsWith("/"))
      throw this.error(`${path}/$ref`, `${JSON.stringify(target)} is not a JSON pointer`);
    const node = this.resolvePointer(pointer);
    if (node === undefined) throw this.error(`${path}/$ref`, `${JSON.stringify(target)} points at nothing`);
    return { pointer, node };
  }

  /** The JSON pointer of a "#..." reference; a bad %-escape is the schema's error, not a URIError. */
  private fragment(target: string, path: string): string {
    try {
      return decodeURIComponent(target.slice(1));
    } catch {
      throw this.error(`${path}/$ref`, `${JSON.stringify(target)} is not a valid URI fragment (bad %-escape)`);
    }
  }

  /** Rejects references that lead back to themselves without a schema in between. */
  private checkRefChain(pointer: string, node: unknown): void {
    const seen = new Set([pointer]);
    let at = pointer;
    while (isSchemaObject(node) && typeof node.$ref === "string" && node.$ref.startsWith("#")) {
      const next = this.fragment(node.$ref, `#${at}`);
      if (seen.has(next))
        throw this.error(
          `#${at}/$ref`,
          `the reference ${JSON.stringify(node.$ref)} loops back without reaching a schema`,
        );
      seen.add(next);
      at = next;
      node = this.resolvePointer(next);
    }
  }

  private resolvePointer(pointer: string): unknown {
    let node: unknown = this.root;
    for (const raw of pointer.split("/").slice(1)) {
      if (!isSchemaObject(node) && !Array.isArray(node)) return undefined;
      node = (node as Record<string, unknown>)[raw.replace(/~1/g, "/").replace(/~0/g, "~")];
    }
    return node;
  }

  /** Sibling keywords of anyOf/oneOf apply to every branch. */
  private withSiblings(branch: unknown, siblings: Schema, path: string): unknown {
    const constraining = Object.keys(siblings).filter((k) => CONSTRAINING.has(k));
    if (constraining.length === 0) return branch;
    if (branch === true) return siblings;
    if (!isSchemaObject(branch)) return branch;
    return this.merge(siblings, branch, path);
  }

  private mergeAllOf(s: Schema, path: string): Schema {
    const { allOf, ...rest } = s;
    if (!Array.isArray(allOf) || allOf.length === 0)
      throw this.error(`${path}/allOf`, "'allOf' must be a non-empty array");
    let merged: Schema = rest;
    allOf.forEach((part, i) => {
      if (part === true) return;
      if (!isSchemaObject(part)) throw this.error(`${path}/allOf/${i}`, "a schema must be an object or a boolean");
      const resolved = "$ref" in part ? this.resolve(part, `${path}/allOf/${i}`) : part;
      merged = this.merge(merged, resolved, `${path}/allOf/${i}`);
    });
    return merged;
  }

  private resolve(s: Schema, path: string): Schema {
    const { node } = this.target(s.$ref, path);
    if (!isSchemaObject(node))
      throw this.error(`${path}/$ref`, `${JSON.stringify(s.$ref)} does not point at a schema object`);
    return node;
  }

  /** Both schemas at once: properties and required are combined, other keywords must agree. */
  private merge(a: Schema, b: Schema, path: string): Schema {
    const out: Schema = { ...a };
    for (const [k, v] of Object.entries(b)) {
      if (!(k in out) || !CONSTRAINING.has(k)) out[k] = v;
      else if (k === "properties" && isSchemaObject(out[k]) && isSchemaObject(v)) {
        const props: Schema = { ...(out[k] as Schema) };
        for (const [name, sub] of Object.entries(v)) props[name] = name in props ? { allOf: [props[name], sub] } : sub;
        out[k] = props;
      } else if (k === "required" && Array.isArray(out[k]) && Array.isArray(v)) {
        out[k] = [...new Set([...(out[k] as unknown[]), ...v])];
      } else if (JSON.stringify(out[k]) !== JSON.stringify(v)) {
        out[k] = this.intersect(k, out[k], v, `${path}/${escapePointer(k)}`);
      }
    }
    return out;
  }

  /** One keyword's value for both of two combined schemas that give it different values. */
  private intersect(k: string, a: unknown, b: unknown, path: string): unknown {
    if (k === "type") {
      const list = (t: unknown) => (Array.isArray(t) ? t : [t]) as string[];
      const [la, lb] = [list(a), list(b)];
      const both = la.flatMap((t) =>
        lb.includes(t)
          ? [t]
          : t === "number" && lb.includes("integer")
            ? ["integer"]
            : t === "integer" && lb.includes("number")
              ? [t]
              : [],
      );
      if (both.length === 0) throw this.error(path, "the combined schemas have no type in common: no value meets both");
      return both;
    }
    if (typeof a === "number" && typeof b === "number") {
      if (["minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"].includes(k)) return Math.max(a, b);
      if (["maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"].includes(k)) return Math.min(a, b);
    }
    if ((k === "enum" || k === "const") && Array.isArray(k === "enum" ? a : [a])) {
      const la = k === "enum" ? (a as unknown[]) : [a];
      const lb = new Set((k === "enum" ? (Array.isArray(b) ? b : []) : [b]).map((v) => JSON.stringify(v)));
      const both = la.filter((v) => lb.has(JSON.stringify(v)));
      if (both.length === 0) throw this.error(path, `the combined schemas share no '${k}' value: no value meets both`);
      return k === "enum" ? both : both[0];
    }
    if (k === "additionalProperties" && (a === false || b === false)) return false;
    this.relax(path, `'${k}' differs between combined schemas; only the first is enforced`);
    return a;
  }

  private object(s: Schema, path: string): GrammarExpr {
    const props = s.properties ?? {};
    if (!isSchemaObject(props)) throw this.error(`${path}/properties`, "'properties' must be an object");
    const required = s.required ?? [];
    if (!Array.isArray(required) || required.some((r) => typeof r !== "string"))
      throw this.error(`${path}/required`, "'required' must be an array of strings");
    const additional = s.additionalProperties;
    if (additional !== undefined && typeof additional !== "boolean" && !isSchemaObject(additional))
      throw this.error(`${path}/additionalProperties`, "'additionalProperties' must be a boolean or a schema");
    const patterns = s.patternProperties;
    if (patterns !== undefined && !isSchemaObject(patterns))
      throw this.error(`${path}/patternProperties`, "'patternProperties' must be an object");
    const minProperties = this.count(s, "minProperties", path) ?? 0;
    const maxProperties = this.count(s, "maxProperties", path) ?? Infinity;
    if (minProperties > maxProperties)
      throw this.error(
        `${path}/minProperties`,
        `minProperties ${minProperties} is above maxProperties ${maxProperties}`,
      );
    // unevaluatedProperties needs nothing: members beyond the evaluated ones are never generated.
    let entries: [string, unknown, string][] = [];
    for (const [k, v] of Object.entries(props)) {
      const at = `${path}/properties/${escapePointer(k)}`;
      // A declared property whose name a pattern matches must meet that pattern's schema too.
      const also = isSchemaObject(patterns)
        ? Object.keys(patterns)
            .filter((p) => mayMatch(p, k))
            .map((p) => patterns[p])
        : [];
      if (also.length === 0 || also.every((x) => x === true)) {
        entries.push([k, v, at]);
        continue;
      }
      try {
        entries.push([k, this.mergeAllOf({ allOf: [v, ...also] }, at), at]);
      } catch (err) {
        // No value meets both: an optional property is left out, a required one cannot be.
        if ((required as unknown[]).includes(k)) throw err;
      }
    }
    for (const r of required as string[]) {
      if (r in props) continue;
      if (additional === false)
        throw this.error(
          `${path}/required`,
          `required property '${r}' is not in 'properties' and additionalProperties is false`,
        );
      entries.push([r, isSchemaObject(additional) ? additional : true, `${path}/additionalProperties`]);
    }
    // propertyNames listing the keys (zod's record with enum keys): each one an optional member.
    const names = s.propertyNames;
    if (
      isSchemaObject(names) &&
      ("enum" in names || "const" in names) &&
      (additional === true || isSchemaObject(additional)) &&
      !isSchemaObject(patterns)
    ) {
      const listed = "const" in names ? [names.const] : Array.isArray(names.enum) ? names.enum : [];
      for (const k of listed)
        if (typeof k === "string" && !entries.some(([n]) => n === k))
          entries.push([k, additional, `${path}/additionalProperties`]);
    }
    const requiredSet = new Set(required as string[]);
    const requiredCount = entries.filter(([name]) => requiredSet.has(name)).length;
    if (requiredCount > maxProperties)
      throw this.error(
        `${path}/maxProperties`,
        `maxProperties ${maxProperties} is below the ${requiredCount} required properties`,
      );
    // maxProperties: only as many optional properties as fit are generated (a valid subset).
    if (entries.length > maxProperties) {
      let optional = maxProperties - requiredCount;
      entries = entries.filter(([name]) => requiredSet.has(name) || optional-- > 0);
    }
    const ws = this.json("ws");
    const extra = this.extraMember(s, entries, path);
    const extraMax = extra ? maxProperties - entries.length : 0;
    // minProperties: optional properties become required, then additional members are required.
    let extraMin = 0;
    if (minProperties > requiredCount) {
      let missing = minProperties - requiredCount;
      for (const [name] of entries) if (!requiredSet.has(name) && missing-- > 0) requiredSet.add(name);
      if (missing > 0) {
        if (extraMax < missing)
          throw this.error(
            `${path}/minProperties`,
            `minProperties ${minProperties} needs more members than the schema lets the grammar write`,
          );
        extraMin = missing;
      }
    }
    const members = entries.map(([name, sub, subPath]) =>
      seq(jsonLiteral(name), literal(":"), ws, this.propertyValue(sub, subPath)),
    );

    // extras(written): the additional members after `written` of them, each after a comma.
    const extras = (written: number): GrammarExpr =>
      extra && extraMax > written
        ? rep(seq(literal(","), ws, extra), Math.max(0, extraMin - written), extraMax - written)
        : seq();
    const n = members.length;
    // rest(k): the members from k on, each after a comma (rules made on first use).
    const rests = new Map<number, GrammarExpr>();
    const rest = (k: number): GrammarExpr => {
      if (k === n) return extras(0);
      let r = rests.get(k);
      if (r === undefined) {
        const item = seq(literal(","), ws, members[k]);
        const body = seq(requiredSet.has(entries[k][0]) ? item : opt(item), rest(k + 1));
        r = k === n - 1 && extraMax === 0 ? body : this.named(`${path}-rest${k}`, body);
        rests.set(k, r);
      }
      return r;
    };
    // first(k): at least one member from k on, the first without a comma.
    const first = (k: number): GrammarExpr | undefined => {
      if (k === n) return extra && extraMax > 0 ? seq(extra, extras(1)) : undefined;
      const here = seq(members[k], rest(k + 1));
      const later = requiredSet.has(entries[k][0]) ? undefined : first(k + 1);
      return later === undefined ? here : this.named(`${path}-first${k}`, alt(here, later));
    };
    const anyRequired = entries.some(([name]) => requiredSet.has(name)) || extraMin > 0;
    const head = first(0);
    if (head === undefined) return seq(literal("{"), ws, literal("}"));
    const body = seq(head, ws);
    return this.named(
      path === "#" ? "object" : path,
      seq(literal("{"), ws, anyRequired ? body : opt(body), literal("}")),
    );
  }

  /**
   * One member beyond the declared ones (`"key": value`), or undefined when none is generated:
   * keys of patternProperties with their schemas; else, with additionalProperties true or a
   * schema, a key that propertyNames allows and that is not a declared property.
   */
  private extraMember(s: Schema, entries: [string, unknown, string][], path: string): GrammarExpr | undefined {
    const ws = this.json("ws");
    const declared = entries.map(([n]) => n);
    const names = s.propertyNames;
    const namesLimit = names !== undefined && !allowsAnyKey(names);
    const patterns = s.patternProperties as Schema | undefined;
    if (patterns !== undefined && Object.keys(patterns).length > 0) {
      const keys = Object.keys(patterns);
      if (keys.length > 1)
        this.relax(
          `${path}/patternProperties`,
          "a key matching several patterns must meet each of their schemas; that is not enforced",
        );
      if (namesLimit) this.relax(`${path}/propertyNames`, "'propertyNames' beside 'patternProperties' is not enforced");
      const options = keys.map((p) => {
        const at = `${path}/patternProperties/${escapePointer(p)}`;
        return seq(this.patternKey(p, declared, at), literal(":"), ws, this.schema(patterns[p], at));
      });
      return this.named(`${path}-extra`, alt(...options));
    }
    const additional = s.additionalProperties;
    if (additional !== true && !isSchemaObject(additional)) return undefined;
    let key: GrammarExpr | undefined;
    if (!namesLimit) {
      key = exceptStrings(declared, this.rules, this.freshName(`${path}-key`), `at ${path}`);
    } else if (isSchemaObject(names) && ("enum" in names || "const" in names)) {
      return undefined; // the listed keys are members already (see object)
    } else if (declared.length === 0 && isSchemaObject(names)) {
      // A key is a string that meets propertyNames (its type other than string allows no key).
      if (
        names.type !== undefined &&
        names.type !== "string" &&
        !(Array.isArray(names.type) && names.type.includes("string"))
      )
        return undefined;
      key = this.schema({ ...names, type: "string" }, `${path}/propertyNames`);
    }
    // propertyNames beside declared properties: no additional members (a valid subset).
    if (key === undefined) return undefined;
    const value =
      additional === true ? this.json("json-value") : this.schema(additional, `${path}/additionalProperties`);
    return this.named(`${path}-extra`, seq(key, literal(":"), ws, value));
  }

  /**
   * A key that `pattern` matches and that is not a declared property (which would repeat, and on
   * parse override, the declared member). A pattern the matcher cannot run is relaxed to any key
   * but the declared ones.
   */
  private patternKey(pattern: string, declared: string[], path: string): GrammarExpr {
    if (!declared.some((name) => mayMatch(pattern, name))) return this.string({ type: "string", pattern }, path);
    let expr: GrammarExpr;
    try {
      expr = regexSearch(pattern, `${this.what} at ${path}`);
    } catch (err) {
      const reason = err instanceof Error ? err.message.replace(/^.*?pattern[^:]*: /, "") : String(err);
      this.relax(path, reason);
      return exceptStrings(declared, this.rules, this.freshName(`${path}-key`), `at ${path}`);
    }
    const where = `at ${path}`;
    return patternExceptStrings(expr, declared, this.rules, this.freshName(`${path}-key`), where, () =>
      this.budget.grow(1, where),
    );
  }

  /** A property's value schema, compiled once per schema object (see `compiled`). */
  private propertyValue(sub: unknown, path: string): GrammarExpr {
    if (!isSchemaObject(sub)) return this.schema(sub, path);
    const seen = this.compiled.get(sub);
    if (seen === undefined) {
      const expr = this.schema(sub, path);
      this.compiled.set(sub, expr);
      return expr;
    }
    if (seen.kind === "ref") return seen; // objects compile to a named rule already
    const shared = this.named(path, seen); // used twice: a rule, referenced from here on
    this.compiled.set(sub, shared);
    return shared;
  }

  private count(s: Schema, key: string, path: string): number | undefined {
    const v = s[key];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
      throw this.error(`${path}/${key}`, `'${key}' must be a non-negative integer`);
    if (v > MAX_REPEAT)
      throw this.error(`${path}/${key}`, `'${key}' above ${MAX_REPEAT} is not supported (each step is a grammar rule)`);
    return v;
  }

  private array(s: Schema, path: string): GrammarExpr {
    let prefix: unknown[] = [];
    let items: unknown = s.items;
    if (s.prefixItems !== undefined) {
      if (!Array.isArray(s.prefixItems)) throw this.error(`${path}/prefixItems`, "'prefixItems' must be an array");
      prefix = s.prefixItems;
    } else if (Array.isArray(items)) {
      prefix = items; // draft-04 tuple form
      items = s.additionalItems;
    }
    const min = this.count(s, "minItems", path) ?? 0;
    let max = this.count(s, "maxItems", path) ?? Infinity;
    if (items === false) max = Math.min(max, prefix.length);
    if (min > max)
      throw this.error(`${path}/minItems`, `minItems ${min} is above the number of items allowed (${max})`);
    const ws = this.json("ws");
    if (max === 0) return seq(literal("["), ws, literal("]"));
    const itemAt = (i: number): GrammarExpr =>
      i < prefix.length
        ? this.schema(prefix[i], `${path}/prefixItems/${i}`)
        : items === undefined || items === true
          ? this.json("json-value")
          : this.schema(items, `${path}/items`);
    const extraItem = prefix.length < max ? this.named(`${path}-item`, itemAt(prefix.length)) : undefined;
    // after(c): the items after the first c, each after a comma.
    const after = (c: number): GrammarExpr => {
      if (c >= max) return seq();
      if (c < prefix.length) {
        const body = seq(literal(","), ws, itemAt(c), after(c + 1));
        return c < min ? body : opt(this.named(`${path}-from${c}`, body));
      }
      return rep(seq(literal(","), ws, extraItem!), Math.max(0, min - c), max - c);
    };
    const elements = seq(prefix.length > 0 ? itemAt(0) : extraItem!, after(1), ws);
    return this.named(`${path}-array`, seq(literal("["), ws, min > 0 ? elements : opt(elements), literal("]")));
  }

  private string(s: Schema, path: string): GrammarExpr {
    const minLength = this.count(s, "minLength", path);
    const maxLength = this.count(s, "maxLength", path);
    if (minLength !== undefined && maxLength !== undefined && minLength > maxLength)
      throw this.error(`${path}/minLength`, `minLength ${minLength} is above maxLength ${maxLength}`);
    const lengths = minLength !== undefined || maxLength !== undefined;
    if (s.pattern !== undefined) {
      if (typeof s.pattern !== "string") throw this.error(`${path}/pattern`, "'pattern' must be a string");
      let body: GrammarExpr | undefined;
      try {
        body = jsonEscaped(regexSearch(s.pattern, `${this.what} at ${path}/pattern`));
      } catch (err) {
        // A regex feature the matcher lacks (lookaround, backreferences): the format, or any string.
        const reason = err instanceof Error ? err.message.replace(/^.*?pattern[^:]*: /, "") : String(err);
        const format = typeof s.format === "string" && !lengths ? formatString(s.format) : undefined;
        if (format) {
          this.relax(`${path}/pattern`, `${reason}; the string follows format '${String(s.format)}' instead`);
          return this.named(`${path}-${String(s.format)}`, format);
        }
        this.relax(`${path}/pattern`, reason);
      }
      if (body !== undefined) {
        if (lengths) this.relax(`${path}/minLength`, "string lengths beside 'pattern' are not enforced");
        return this.named(`${path}-pattern`, seq(literal('"'), body, literal('"')));
      }
    } else if (typeof s.format === "string") {
      const f = lengths ? undefined : formatString(s.format);
      if (f) return this.named(`${path}-${s.format}`, f);
      this.relax(
        `${path}/format`,
        lengths ? `format '${s.format}' beside string lengths is not enforced` : `format '${s.format}' is not enforced`,
      );
    }
    this.json("json-char");
    if (minLength === undefined && maxLength === undefined) return this.json("json-string");
    // a rule of its own: its repetition is the bulk of the grammar, and limit errors then name this path
    return this.named(`${path}-string`, boundedString(minLength ?? 0, maxLength ?? Infinity));
  }

  private bound(s: Schema, path: string, key: "minimum" | "maximum", exclusiveKey: string): NumericBound | undefined {
    const inclusive = s[key];
    const exclusive = s[exclusiveKey];
    for (const [k, v] of [
      [key, inclusive],
      [exclusiveKey, exclusive],
    ] as const) {
      if (v !== undefined && typeof v !== "boolean" && (typeof v !== "number" || !Number.isFinite(v)))
        throw this.error(`${path}/${k}`, `'${k}' must be a finite number`);
    }
    if (typeof exclusive === "number") {
      if (typeof inclusive === "number") {
        const tighter = key === "minimum" ? exclusive >= inclusive : exclusive <= inclusive;
        return tighter ? { value: exclusive, exclusive: true } : { value: inclusive, exclusive: false };
      }
      return { value: exclusive, exclusive: true };
    }
    if (typeof inclusive === "number") return { value: inclusive, exclusive: exclusive === true }; // draft-04 boolean form
    return undefined;
  }

  private numeric(type: "integer" | "number", s: Schema, path: string): GrammarExpr {
    const min = this.bound(s, path, "minimum", "exclusiveMinimum");
    const max = this.bound(s, path, "maximum", "exclusiveMaximum");
    if (min === undefined && max === undefined) return this.json(type === "integer" ? "json-integer" : "json-number");
    const expr = type === "integer" ? boundedInteger(min, max) : boundedNumber(min, max);
    if (!expr) throw this.error(path, `no ${type} that the grammar can write lies within the bounds`);
    return this.named(`${path}-${type}`, expr);
  }
}

/**
 * Compiles a JSON schema; `what` names it in errors (e.g. "constraint.schema"). The result's
 * `warnings` list the keywords that were relaxed (see the top of this file).
 */
export function jsonSchemaGrammar(
  schema: unknown,
  what = "schema",
  budget: CompileBudget = new CompileBudget(what),
): SchemaGrammar {
  return new SchemaCompiler(schema, what, budget).compile();
}

/** The grammar for any JSON object (the `json_object` response format). */
export function jsonObjectGrammar(): Grammar {
  const rules = new Map<string, GrammarRule>();
  rules.set("root", { name: "root", body: ref("json-object") });
  addJsonRule(rules, "json-object");
  return { rules, root: "root" };
}
