/**
 * JSON Schema → Grammar, for the subset that zod, OpenAI tool definitions and LangChain produce:
 * type (one or a list), properties / required / additionalProperties, items / prefixItems /
 * minItems / maxItems, enum / const, string length, pattern and common formats, integer and number
 * bounds, anyOf / oneOf / allOf, $ref into the same document ($defs, definitions, "#"), and
 * OpenAPI's nullable. Keywords that would need more than a context-free grammar are rejected with
 * the schema path of the offending keyword; annotations (title, description, …) are ignored.
 *
 * Output shape: object members appear in the order of `properties`; properties that are not
 * required may be left out; without `additionalProperties` no other members are generated (a valid
 * subset). oneOf is generated as anyOf, so its branches must not overlap.
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
import { regexSearch } from "./regex_parser.js";
import { exceptStrings } from "./json_object_keys.js";

type Schema = Record<string, unknown>;

const UNSUPPORTED = [
  "not",
  "if",
  "then",
  "else",
  "dependentRequired",
  "dependentSchemas",
  "dependencies",
  "patternProperties",
  "propertyNames",
  "unevaluatedProperties",
  "unevaluatedItems",
  "minProperties",
  "maxProperties",
  "contains",
  "minContains",
  "maxContains",
  "multipleOf",
  "$dynamicRef",
  "$recursiveRef",
];
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
  ) {}

  compile(): Grammar {
    this.usedNames.add("root");
    this.rules.set("root", { name: "root", body: literal("") }); // keeps "root" first
    this.rules.set("root", { name: "root", body: this.schema(this.root, "#") });
    return { rules: this.rules, root: "root" };
  }

  private error(path: string, message: string) {
    return constraintError(this.what, `at ${path}`, message);
  }

  /** A named rule for `body` (so that big sub-schemas are shared, not copied). */
  private named(hint: string, body: GrammarExpr): GrammarExpr {
    const name = this.freshName(hint);
    this.rules.set(name, { name, body });
    return ref(name);
  }

  private freshName(hint: string): string {
    const base =
      hint
        .replace(/[^A-Za-z0-9-]+/g, "-")
        .replace(/^-+|-+$/g, "")
        .slice(0, 40) || "r";
    const taken = (n: string) => this.usedNames.has(n) || n.startsWith("json-") || n === "ws";
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
    if (s === true) return this.json("json-value");
    if (s === false) throw this.error(path, "the schema `false` allows no value");
    if (!isSchemaObject(s)) throw this.error(path, "a schema must be an object or a boolean");
    for (const k of UNSUPPORTED)
      if (k in s && !(k === "propertyNames" && allowsAnyKey(s.propertyNames)))
        throw this.error(`${path}/${k}`, `'${k}' is not supported in constrained generation`);
    if (s.uniqueItems === true)
      throw this.error(`${path}/uniqueItems`, "'uniqueItems' is not supported in constrained generation");

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
    if (extra.length > 0) throw this.error(`${path}/${extra[0]}`, `'${extra[0]}' beside '$ref' is not supported`);
    const { pointer, node } = this.target(s.$ref, path);
    let name = this.refRules.get(pointer);
    if (name !== undefined) return ref(name);
    this.checkRefChain(pointer, node);
    name = pointer === "" ? "root" : this.freshName(`def-${pointer.split("/").pop()}`);
    this.refRules.set(pointer, name);
    if (pointer !== "") {
      this.rules.set(name, { name, body: literal("") }); // reserved: the target may refer to itself
      this.rules.set(name, { name, body: this.schema(node, `#${pointer}`) });
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
        throw this.error(
          `${path}/${escapePointer(k)}`,
          `'${k}' differs between combined schemas; such an intersection is not supported`,
        );
      }
    }
    return out;
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

    const entries: [string, unknown, string][] = Object.entries(props).map(([k, v]) => [
      k,
      v,
      `${path}/properties/${escapePointer(k)}`,
    ]);
    for (const r of required as string[]) {
      if (r in props) continue;
      if (additional === false)
        throw this.error(
          `${path}/required`,
          `required property '${r}' is not in 'properties' and additionalProperties is false`,
        );
      entries.push([r, isSchemaObject(additional) ? additional : true, `${path}/additionalProperties`]);
    }
    const requiredSet = new Set(required as string[]);
    const ws = this.json("ws");
    const members = entries.map(([name, sub, subPath]) =>
      seq(jsonLiteral(name), literal(":"), ws, this.propertyValue(sub, subPath)),
    );

    let extra: GrammarExpr | undefined;
    if (additional === true || isSchemaObject(additional)) {
      const key = exceptStrings(
        entries.map(([n]) => n),
        this.rules,
        this.freshName(`${path}-key`),
      );
      const value =
        additional === true ? this.json("json-value") : this.schema(additional, `${path}/additionalProperties`);
      extra = this.named(`${path}-extra`, seq(key, literal(":"), ws, value));
    }
    const n = members.length;
    // rest(k): the members from k on, each after a comma (rules made on first use).
    const rests = new Map<number, GrammarExpr>();
    const rest = (k: number): GrammarExpr => {
      if (k === n) return extra ? rep(seq(literal(","), ws, extra), 0, Infinity) : seq();
      let r = rests.get(k);
      if (r === undefined) {
        const item = seq(literal(","), ws, members[k]);
        const body = seq(requiredSet.has(entries[k][0]) ? item : opt(item), rest(k + 1));
        r = k === n - 1 && !extra ? body : this.named(`${path}-rest${k}`, body);
        rests.set(k, r);
      }
      return r;
    };
    // first(k): at least one member from k on, the first without a comma.
    const first = (k: number): GrammarExpr | undefined => {
      if (k === n) return extra ? seq(extra, rest(n)) : undefined;
      const here = seq(members[k], rest(k + 1));
      const later = requiredSet.has(entries[k][0]) ? undefined : first(k + 1);
      return later === undefined ? here : this.named(`${path}-first${k}`, alt(here, later));
    };
    const anyRequired = entries.some(([name]) => requiredSet.has(name));
    const head = first(0);
    if (head === undefined) return seq(literal("{"), ws, literal("}"));
    const body = seq(head, ws);
    return this.named(
      path === "#" ? "object" : path,
      seq(literal("{"), ws, anyRequired ? body : opt(body), literal("}")),
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
    if (s.pattern !== undefined) {
      if (typeof s.pattern !== "string") throw this.error(`${path}/pattern`, "'pattern' must be a string");
      if (minLength !== undefined || maxLength !== undefined)
        throw this.error(`${path}/pattern`, "'pattern' together with minLength/maxLength is not supported");
      const body = jsonEscaped(regexSearch(s.pattern, `${this.what} at ${path}/pattern`));
      return this.named(`${path}-pattern`, seq(literal('"'), body, literal('"')));
    }
    if (typeof s.format === "string" && minLength === undefined && maxLength === undefined) {
      const f = formatString(s.format);
      if (f) return this.named(`${path}-${s.format}`, f);
    }
    this.json("json-char");
    if (minLength === undefined && maxLength === undefined) return this.json("json-string");
    return boundedString(minLength ?? 0, maxLength ?? Infinity);
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

/** Compiles a JSON schema; `what` names it in errors (e.g. "constraint.schema"). */
export function jsonSchemaGrammar(schema: unknown, what = "schema"): Grammar {
  return new SchemaCompiler(schema, what).compile();
}

/** The grammar for any JSON object (the `json_object` response format). */
export function jsonObjectGrammar(): Grammar {
  const rules = new Map<string, GrammarRule>();
  rules.set("root", { name: "root", body: ref("json-object") });
  addJsonRule(rules, "json-object");
  return { rules, root: "root" };
}
