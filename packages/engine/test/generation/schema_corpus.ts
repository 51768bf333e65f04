// A corpus of the schemas users hand to constrained generation: zod 4 schemas through
// z.toJSONSchema (what LangChain, the AI SDK and the OpenAI helpers send) and hand-written JSON
// schemas in the shapes pydantic and OpenAPI emit. Records, tuples, discriminated unions,
// optional / nullable / default, enums, recursive $ref, and the keywords of issue 19.1:
// propertyNames, patternProperties, additionalProperties schemas, min/maxProperties, const,
// prefixItems, format, simple `not`, nested $defs.
import { z } from "zod";

export interface CorpusEntry {
  name: string;
  schema: Record<string, unknown>;
}

const Category: z.ZodType<{ name: string; subcategories: unknown[] }> = z.object({
  name: z.string().max(12),
  get subcategories() {
    return z.array(Category).max(2);
  },
});

const Expr: z.ZodType = z.discriminatedUnion("op", [
  z.object({ op: z.literal("num"), value: z.number().int().min(0).max(99) }),
  z.object({
    op: z.enum(["add", "mul"]),
    get args() {
      return z.array(Expr).min(2).max(2);
    },
  }),
]);

const zodSchemas: [string, z.ZodType][] = [
  ["zod record of strings", z.object({ headers: z.record(z.string(), z.string().max(16)) })],
  [
    "zod record in a nested object (LangChain's standard test)",
    z.object({
      apiDetails: z.object({
        endpoint: z.string(),
        parameters: z.record(z.string(), z.union([z.string(), z.number()])),
      }),
    }),
  ],
  ["zod record with enum keys", z.object({ stock: z.record(z.enum(["apples", "pears"]), z.number().int().min(0)) })],
  ["zod record with regex keys", z.object({ env: z.record(z.string().regex(/^[A-Z_]{1,8}$/), z.string().max(8)) })],
  ["zod partial record", z.object({ flags: z.partialRecord(z.enum(["a", "b", "c"]), z.boolean()) })],
  ["zod record of objects", z.record(z.string(), z.object({ qty: z.number().int(), ok: z.boolean() }))],
  ["zod tuple", z.object({ point: z.tuple([z.number(), z.number(), z.number()]) })],
  ["zod tuple with rest", z.tuple([z.string().max(6), z.boolean()], z.number().int())],
  ["zod tuple of mixed kinds", z.object({ row: z.tuple([z.literal("id"), z.number().int(), z.string().nullable()]) })],
  [
    "zod discriminated union",
    z.object({
      event: z.discriminatedUnion("type", [
        z.object({ type: z.literal("click"), x: z.number().int(), y: z.number().int() }),
        z.object({ type: z.literal("key"), key: z.string().max(4) }),
        z.object({ type: z.literal("scroll"), delta: z.number() }),
      ]),
    }),
  ],
  [
    "zod union of objects",
    z.union([
      z.object({ ok: z.literal(true), data: z.string() }),
      z.object({ ok: z.literal(false), error: z.string() }),
    ]),
  ],
  [
    "zod optional, nullable, nullish and default",
    z.object({
      a: z.string().optional(),
      b: z.number().nullable(),
      c: z.boolean().nullish(),
      d: z.string().max(5).default("x"),
      e: z.number().int().optional().default(3),
    }),
  ],
  ["zod enum and native-style enum", z.object({ color: z.enum(["red", "green"]), level: z.literal([1, 2, 3]) })],
  ["zod literal const", z.object({ version: z.literal("v1"), strict: z.literal(true), n: z.literal(42) })],
  ["zod recursive category tree", z.object({ root: Category })],
  ["zod recursive expression", Expr],
  [
    "zod string formats",
    z.object({
      email: z.email(),
      uuid: z.uuid(),
      url: z.url(),
      ipv4: z.ipv4(),
      ipv6: z.ipv6(),
      date: z.iso.date(),
      time: z.iso.time(),
      datetime: z.iso.datetime(),
      duration: z.iso.duration(),
    }),
  ],
  ["zod string checks", z.object({ slug: z.string().regex(/^[a-z0-9-]{3,10}$/), code: z.string().length(4) })],
  [
    "zod numbers",
    z.object({ pct: z.number().min(0).max(1), neg: z.number().int().negative(), pos: z.number().positive() }),
  ],
  ["zod arrays", z.object({ tags: z.array(z.string().max(6)).min(1).max(3), empty: z.array(z.number()).max(0) })],
  ["zod intersection", z.intersection(z.object({ id: z.number().int() }), z.object({ name: z.string().max(10) }))],
  ["zod strict object", z.strictObject({ a: z.number(), b: z.string().optional() })],
  ["zod loose object", z.looseObject({ kind: z.literal("loose") })],
  ["zod catchall", z.object({ id: z.string() }).catchall(z.number().int())],
  ["zod array of unions", z.array(z.union([z.string().max(4), z.number().int(), z.null()])).max(4)],
  ["zod nullable object", z.object({ owner: z.object({ name: z.string() }).nullable() })],
  ["zod boolean map", z.record(z.string().max(5), z.boolean())],
  ["zod non-empty array", z.object({ items: z.array(z.object({ sku: z.string() })).nonempty() })],
];

const jsonSchemas: [string, Record<string, unknown>][] = [
  [
    "propertyNames with a pattern",
    {
      type: "object",
      propertyNames: { pattern: "^[a-z]{2,5}$" },
      additionalProperties: { type: "integer", minimum: 0, maximum: 9 },
      minProperties: 1,
    },
  ],
  [
    "propertyNames enum beside declared properties",
    {
      type: "object",
      properties: { id: { type: "integer" } },
      required: ["id"],
      propertyNames: { enum: ["id", "label", "note"] },
      additionalProperties: { type: "string", maxLength: 8 },
    },
  ],
  [
    "patternProperties",
    {
      type: "object",
      patternProperties: { "^s_[a-z]{1,4}$": { type: "string", maxLength: 6 } },
      additionalProperties: false,
    },
  ],
  [
    "patternProperties beside properties",
    {
      type: "object",
      properties: { name: { type: "string" } },
      required: ["name"],
      patternProperties: { "^x-[0-9]{1,3}$": { type: "number" } },
      additionalProperties: false,
    },
  ],
  [
    "patternProperties matching declared properties",
    {
      type: "object",
      properties: { id: { type: "integer" }, item: { type: "integer", maximum: 5 } },
      required: ["id"],
      patternProperties: { "^i": { type: "integer", minimum: 0 } },
      additionalProperties: false,
    },
  ],
  [
    "additionalProperties schema",
    {
      type: "object",
      properties: { total: { type: "number" } },
      required: ["total"],
      additionalProperties: { type: "array", items: { type: "integer" }, maxItems: 3 },
    },
  ],
  [
    "minProperties and maxProperties",
    {
      type: "object",
      properties: { a: { type: "integer" }, b: { type: "integer" }, c: { type: "integer" }, d: { type: "integer" } },
      minProperties: 2,
      maxProperties: 3,
      additionalProperties: false,
    },
  ],
  [
    "minProperties on a map",
    { type: "object", additionalProperties: { type: "boolean" }, minProperties: 2, maxProperties: 4 },
  ],
  [
    "const values",
    {
      type: "object",
      properties: { v: { const: 2 }, k: { const: "key" }, o: { const: { a: [1] } } },
      required: ["v", "k", "o"],
    },
  ],
  [
    "prefixItems with items false",
    {
      type: "array",
      prefixItems: [{ type: "string", format: "date" }, { type: "integer" }],
      items: false,
      minItems: 1,
    },
  ],
  [
    "prefixItems with item schema",
    { type: "array", prefixItems: [{ const: "head" }], items: { type: "number" }, minItems: 2, maxItems: 4 },
  ],
  [
    "not a type",
    {
      type: "object",
      properties: { v: { not: { type: "null" } }, w: { type: ["string", "number"], not: { type: "string" } } },
      required: ["v", "w"],
    },
  ],
  [
    "not a const or an enum",
    {
      type: "object",
      properties: {
        name: { type: "string", not: { const: "" } },
        role: { enum: ["admin", "user", "guest"], not: { enum: ["admin"] } },
      },
      required: ["name", "role"],
    },
  ],
  [
    "nested $defs",
    {
      $defs: {
        geo: {
          $defs: { coord: { type: "number", minimum: -180, maximum: 180 } },
          type: "object",
          properties: { lat: { $ref: "#/$defs/geo/$defs/coord" }, lon: { $ref: "#/$defs/geo/$defs/coord" } },
          required: ["lat", "lon"],
        },
      },
      type: "object",
      properties: { where: { $ref: "#/$defs/geo" } },
      required: ["where"],
    },
  ],
  [
    "pydantic model with $ref siblings and definitions",
    {
      title: "Order",
      type: "object",
      definitions: {
        Item: {
          title: "Item",
          type: "object",
          properties: {
            sku: { title: "Sku", type: "string", maxLength: 8 },
            qty: { title: "Qty", type: "integer", minimum: 1 },
          },
          required: ["sku", "qty"],
        },
        Status: { title: "Status", enum: ["new", "paid", "sent"], type: "string" },
      },
      properties: {
        items: { title: "Items", type: "array", items: { $ref: "#/definitions/Item" }, maxItems: 3 },
        status: { $ref: "#/definitions/Status", default: "new", description: "the state" },
        note: { anyOf: [{ type: "string", maxLength: 10 }, { type: "null" }], default: null, title: "Note" },
      },
      required: ["items", "status"],
    },
  ],
  [
    "recursive tree with $ref to the root",
    {
      type: "object",
      properties: { v: { type: "integer" }, kids: { type: "array", items: { $ref: "#" }, maxItems: 2 } },
      required: ["v"],
      additionalProperties: false,
    },
  ],
  [
    "OpenAPI nullable and oneOf",
    {
      type: "object",
      properties: {
        id: { type: "string", format: "uuid" },
        parent: { type: "string", nullable: true },
        payment: {
          oneOf: [
            {
              type: "object",
              properties: { card: { type: "string", pattern: "^[0-9]{4}$" } },
              required: ["card"],
              additionalProperties: false,
            },
            {
              type: "object",
              properties: { iban: { type: "string", pattern: "^DE[0-9]{4}$" } },
              required: ["iban"],
              additionalProperties: false,
            },
          ],
        },
      },
      required: ["id", "parent", "payment"],
    },
  ],
  [
    "allOf with tighter bounds",
    {
      allOf: [
        { type: "object", properties: { n: { type: "integer", minimum: 0, maximum: 100 } }, required: ["n"] },
        { properties: { n: { maximum: 10 } } },
      ],
    },
  ],
  [
    "formats: hostname, uri, email, date-time",
    {
      type: "object",
      properties: {
        host: { type: "string", format: "hostname" },
        link: { type: "string", format: "uri" },
        mail: { type: "string", format: "email" },
        at: { type: "string", format: "date-time" },
      },
      required: ["host", "link", "mail", "at"],
    },
  ],
];

/** The corpus: zod schemas (as z.toJSONSchema writes them) first, then JSON schemas. */
export function schemaCorpus(): CorpusEntry[] {
  return [
    ...zodSchemas.map(([name, schema]) => ({ name, schema: z.toJSONSchema(schema) as Record<string, unknown> })),
    ...jsonSchemas.map(([name, schema]) => ({ name, schema })),
  ];
}

/** The zod schemas by name, for a second check with zod's own parse. */
export const corpusZod = new Map(zodSchemas);
