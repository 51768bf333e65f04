// Issue 19.1: every schema of the corpus (zod 4 through z.toJSONSchema, pydantic / OpenAPI-shaped
// JSON schemas) compiles, and every constrained output of the tiny random-weight model parses and
// validates with ajv (draft 2020-12, formats checked) and, for zod schemas, with zod's own parse.
import { isIPv4, isIPv6 } from "node:net";

import { Ajv2020 as Ajv } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine } from "../../src/index.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";
import { corpusZod, schemaCorpus } from "./schema_corpus.js";

function makeAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const dateOk = (s: string) =>
    /^\d{4}-\d{2}-\d{2}$/.test(s) && new Date(`${s}T00:00:00Z`).toISOString().slice(0, 10) === s;
  const timeOk = (s: string) => /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(z|[+-]([01]\d|2[0-3]):[0-5]\d)?$/i.test(s);
  ajv.addFormat("date", dateOk);
  ajv.addFormat("time", timeOk);
  ajv.addFormat("date-time", (s: string) => dateOk(s.slice(0, 10)) && /^t$/i.test(s[10] ?? "") && timeOk(s.slice(11)));
  ajv.addFormat("uuid", /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  ajv.addFormat("email", /^[^\s@]+@[^\s@]+\.[^\s@]+$/);
  ajv.addFormat("ipv4", (s: string) => isIPv4(s));
  ajv.addFormat("ipv6", (s: string) => isIPv6(s));
  ajv.addFormat(
    "hostname",
    /^(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-0-9a-z]{0,61}[0-9a-z])?)*\.?$/i,
  );
  ajv.addFormat("uri", (s: string) => {
    if (!/^[a-z][a-z0-9+.-]*:/i.test(s)) return false;
    try {
      new URL(s);
      return true;
    } catch {
      return false;
    }
  });
  ajv.addFormat("duration", /^P(?!$)((\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?|(\d+W)?)$/);
  return ajv;
}

const SETTINGS = [{ temperature: 0 }, { temperature: 0.9, topP: 0.95, seed: 5 }, { temperature: 1.3, seed: 17 }];

describe("schema corpus (issue 19.1)", () => {
  const corpus = schemaCorpus();
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 512, kvCacheTokens: 96000 });
  });
  afterAll(() => engine?.close());

  it(`has at least 40 schemas (${corpus.length})`, () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
  });

  it("every constrained output validates with ajv (and zod), over three sampling settings", async () => {
    const ajv = makeAjv();
    const runs = corpus.flatMap(({ name, schema }) =>
      SETTINGS.map(async (s) => {
        const r = await engine
          .generate({ prompt: "JSON:", maxNewTokens: 200, ...s, constraint: { type: "json_schema", schema } })
          .result();
        let problem = "";
        if (r.finishReason !== "stop" || !r.constraint?.complete) problem = `ended ${r.finishReason}`;
        else {
          try {
            const value: unknown = JSON.parse(r.text);
            if (!ajv.validate(schema, value)) problem = `ajv: ${ajv.errorsText()}`;
            const zod = corpusZod.get(name);
            const parsed = zod?.safeParse(value);
            if (parsed && !parsed.success) problem += ` zod: ${parsed.error.message}`;
          } catch (err) {
            problem = `does not parse: ${(err as Error).message}`;
          }
        }
        return { name, s, text: r.text, warnings: r.constraint?.warnings, problem };
      }),
    );
    const results = await Promise.all(runs);
    expect(
      results.filter((r) => r.problem).map((r) => `${r.name} ${JSON.stringify(r.s)}: ${r.problem}\n=> ${r.text}`),
    ).toEqual([]);
    // Exact grammars carry no warning; the one relaxed keyword of the corpus is zod's duration
    // pattern (a lookahead), whose format is enforced instead.
    const warned = [...new Set(results.filter((r) => r.warnings).map((r) => r.name))];
    expect(warned).toEqual(["zod string formats"]);
    expect(results.find((r) => r.warnings)!.warnings).toEqual([
      expect.stringMatching(/^#\/properties\/duration\/pattern: lookahead .* follows format 'duration' instead/),
    ]);
    // Records and maps do get members: the outputs are not all the smallest value.
    const maps = results.filter((r) => /record|map|propertyNames|patternProperties|catchall/.test(r.name));
    const members = (v: unknown): number =>
      v && typeof v === "object"
        ? Object.keys(v).length + Object.values(v).reduce((n: number, x) => n + members(x), 0)
        : 0;
    expect(
      maps.filter((r) => members(JSON.parse(r.text)) > Object.keys(JSON.parse(r.text)).length).length,
    ).toBeGreaterThan(3);
  });
});
