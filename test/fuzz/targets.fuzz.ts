// Runs every TypeScript fuzz target for FUZZ_SECONDS (default 10) each; FUZZ_TARGETS=a,b picks
// some. Prints one line of figures per target and, with FUZZ_STATS=file, appends them as JSON lines.
import { appendFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { fuzz } from "./fuzz_loop.js";
import { TARGETS } from "./targets.js";

const seconds = Number(process.env.FUZZ_SECONDS ?? 10);
const only = process.env.FUZZ_TARGETS?.split(",");

describe("fuzz", () => {
  for (const target of TARGETS.filter((t) => !only || only.includes(t.name))) {
    it(target.name, async () => {
      const stats = await fuzz(target, { seconds, seed: Number(process.env.FUZZ_SEED ?? 1) });
      const line = `${stats.target.padEnd(20)} ${String(stats.executions).padStart(9)} execs ${(stats.executions / stats.seconds).toFixed(0).padStart(7)}/s  corpus ${stats.corpus}  outcomes ${stats.outcomes}  findings ${stats.findings.length}`;
      console.log(line);
      if (process.env.FUZZ_STATS)
        appendFileSync(
          process.env.FUZZ_STATS,
          JSON.stringify({ ...stats, findings: stats.findings.map((f) => f.file) }) + "\n",
        );
      for (const f of stats.findings) console.error(`finding in ${f.target} (${f.file}):\n${f.error}`);
      expect(stats.findings).toEqual([]);
    });
  }
});
