// A deterministic generator of JSON schemas covering the subset constrained generation supports:
// objects (required, additionalProperties false / true / schema), arrays (items, prefixItems,
// minItems, maxItems), strings (enum, const, length, pattern, format), numbers and integers with
// and without bounds, booleans, null, anyOf / oneOf with disjoint branches, $ref / $defs
// (recursive too), nullable and type lists.
import { Random } from "../../src/training/random.js";

/** The engine's seeded mulberry32 stream as a function. */
export function rng(seed: number): () => number {
  const r = new Random(seed);
  return () => r.uniform();
}

type Schema = Record<string, unknown>;

const NAMES = [
  "id",
  "name",
  "city",
  "count",
  "tags",
  "price",
  "active",
  "note",
  "user",
  "items",
  "kind",
  "when",
  "score",
  "目标",
  "path/to",
  "a b",
];
const WORDS = ["red", "green", "blue", "北京", 'x"y', "a\\b", "tab\there", "", "ok"];
const PATTERNS = [
  "^[A-Z]{2}-\\d{3}$",
  "[0-9]{2}",
  "^(yes|no|maybe)$",
  "^[a-f0-9]{4,8}$",
  "^\\w+@example\\.com$",
  "^v\\d\\.\\d$",
];
const FORMATS = ["date", "date-time", "uuid", "email"];

class Generator {
  private defs: Record<string, Schema> = {};
  constructor(private readonly r: () => number) {}

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  private pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)];
  }
  private chance(p: number): boolean {
    return this.r() < p;
  }

  root(): Schema {
    this.defs = {};
    const s = this.object(0);
    if (Object.keys(this.defs).length > 0) s.$defs = this.defs;
    return s;
  }

  schema(depth: number): Schema {
    const kinds =
      depth >= 2
        ? ["string", "number", "integer", "boolean", "null", "enum"]
        : [
            "object",
            "array",
            "string",
            "number",
            "integer",
            "boolean",
            "enum",
            "anyOf",
            "oneOf",
            "ref",
            "nullable",
            "typeList",
          ];
    switch (this.pick(kinds)) {
      case "object":
        return this.object(depth + 1);
      case "array":
        return this.array(depth + 1);
      case "string":
        return this.string();
      case "number":
        return this.number();
      case "integer":
        return this.integer();
      case "boolean":
        return { type: "boolean" };
      case "null":
        return { type: "null" };
      case "enum":
        return this.chance(0.3)
          ? { const: this.pick([...WORDS, 7, true, null]) }
          : {
              enum: [this.pick(WORDS), this.pick(WORDS), this.int(-5, 5), null].filter((v, i, a) => a.indexOf(v) === i),
            };
      case "anyOf":
        return { anyOf: [this.schema(depth + 1), this.schema(depth + 1)] };
      case "oneOf":
        // Branches of different JSON types never overlap.
        return { oneOf: [this.string(), { type: "boolean" }, this.object(depth + 1)].slice(0, this.int(2, 3)) };
      case "ref": {
        const name = `def${Object.keys(this.defs).length}`;
        this.defs[name] = {}; // reserves the name while the definition is generated
        this.defs[name] = this.chance(0.3) ? this.recursive(name) : this.schema(depth + 1);
        return { $ref: `#/$defs/${name}` };
      }
      case "nullable":
        return { ...this.string(), nullable: true };
      default:
        return { type: ["string", "integer", "null"].slice(0, this.int(2, 3)), maxLength: 6 };
    }
  }

  /** A tree node: a label and an optional list of children of the same definition. */
  private recursive(name: string): Schema {
    return {
      type: "object",
      properties: {
        label: { type: "string", maxLength: 4 },
        children: { type: "array", items: { $ref: `#/$defs/${name}` }, maxItems: 2 },
      },
      required: ["label"],
      additionalProperties: false,
    };
  }

  object(depth: number): Schema {
    const n = this.int(depth === 0 ? 1 : 0, 4);
    const names = [...NAMES].sort(() => this.r() - 0.5).slice(0, n);
    const properties: Record<string, Schema> = {};
    for (const k of names) properties[k] = this.schema(depth);
    const required = names.filter(() => this.chance(0.6));
    const s: Schema = { type: "object", properties };
    if (required.length > 0) s.required = required;
    const extra = this.r();
    if (extra < 0.5) s.additionalProperties = false;
    else if (extra < 0.6) s.additionalProperties = true;
    else if (extra < 0.7) s.additionalProperties = { type: "integer", minimum: 0, maximum: 9 };
    return s;
  }

  array(depth: number): Schema {
    if (this.chance(0.2))
      return { type: "array", prefixItems: [this.string(), this.integer()], items: false, minItems: this.int(0, 2) };
    const min = this.int(0, 2);
    const s: Schema = { type: "array", items: this.schema(depth), minItems: min };
    if (this.chance(0.7)) s.maxItems = min + this.int(0, 3);
    return s;
  }

  string(): Schema {
    const v = this.r();
    if (v < 0.15) return { type: "string", pattern: this.pick(PATTERNS) };
    if (v < 0.3) return { type: "string", format: this.pick(FORMATS) };
    if (v < 0.45)
      return { type: "string", enum: [this.pick(WORDS), this.pick(WORDS)].filter((x, i, a) => a.indexOf(x) === i) };
    const min = this.int(0, 3);
    return this.chance(0.8) ? { type: "string", minLength: min, maxLength: min + this.int(0, 8) } : { type: "string" };
  }

  number(): Schema {
    const s: Schema = { type: "number" };
    if (this.chance(0.5)) s.minimum = this.pick([-10, -1.5, 0, 2.25]);
    if (this.chance(0.5)) s.maximum = this.pick([3.5, 10, 100, 1e6]);
    if (s.minimum === undefined && this.chance(0.2)) s.exclusiveMinimum = 0;
    return s;
  }

  integer(): Schema {
    const s: Schema = { type: "integer" };
    const v = this.r();
    if (v < 0.25)
      Object.assign(s, { minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }); // what zod's int() emits
    else if (v < 0.5) Object.assign(s, { minimum: this.int(-50, 5), maximum: this.int(6, 1500) });
    else if (v < 0.6) Object.assign(s, { exclusiveMinimum: this.int(-3, 3) });
    else if (v < 0.7) Object.assign(s, { maximum: this.int(-20, 20) });
    return s;
  }
}

/** `count` schemas, the same for the same seed. */
export function generateSchemas(count: number, seed = 1): Schema[] {
  const g = new Generator(rng(seed));
  return Array.from({ length: count }, () => g.root());
}
