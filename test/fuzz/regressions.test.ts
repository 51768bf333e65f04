// Replays every TypeScript fuzz target's seeds and every input that once broke it
// (test/fuzz/regressions/<target>/, saved from fuzz findings and fixed since): each must end in a
// result or a WenxinError, with the target's invariants holding. Part of `pnpm test`.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { TARGETS } from "./targets.js";

const REGRESSIONS = path.join(path.dirname(new URL(import.meta.url).pathname), "regressions");

describe("fuzz seeds and regressions", () => {
  for (const target of TARGETS) {
    it(target.name, async () => {
      const dir = path.join(REGRESSIONS, target.name);
      const saved = existsSync(dir) ? readdirSync(dir).map((f) => new Uint8Array(readFileSync(path.join(dir, f)))) : [];
      const inputs = [...target.seeds(), ...saved];
      for (const input of inputs)
        await expect(Promise.resolve().then(() => target.run(input))).resolves.toBeTypeOf("string");
      expect(inputs.length).toBeGreaterThan(0);
    });
  }

  it("holds the inputs of the bugs found so far", () => {
    expect(readdirSync(path.join(REGRESSIONS, "tokenizer_json")).length).toBeGreaterThanOrEqual(3);
    expect(readdirSync(path.join(REGRESSIONS, "weights_index")).length).toBeGreaterThanOrEqual(2);
    expect(readdirSync(path.join(REGRESSIONS, "json_schema")).length).toBeGreaterThanOrEqual(1);
  });
});
