#!/usr/bin/env node
/**
 * pnpm bench [--models 0.3B,moe] [--formats bf16,q8,q4] [--threads 2] [--repeats 3] [--json] [--quality]
 * Builds random-weight models of the released shapes (cached under .bench/), runs wenxin.js and
 * node-llama-cpp side by side, and prints the table (or JSON with --json).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { benchModels, formatReport, runBench, type WeightsFormat } from "./bench.js";
import { measureQuality } from "./quality.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const { values } = parseArgs({
  options: {
    models: { type: "string", default: "0.3B,moe" },
    formats: { type: "string", default: "bf16,q8,q4" },
    threads: { type: "string", default: "2" },
    repeats: { type: "string", default: "3" },
    "moe-layers": { type: "string", default: "4" },
    configs: { type: "string", default: path.resolve(root, "../shared/configs") },
    cache: { type: "string", default: path.join(root, ".bench") },
    json: { type: "boolean", default: false },
    quality: { type: "boolean", default: false },
  },
});

const fixtures = path.join(root, "test/fixtures/ernie45");
if (values.quality) {
  const rows = [];
  for (const model of ["tiny-ernie45-dense", "tiny-ernie45-moe"])
    for (const w of ["bf16", "q8", "q4", "fp8"] as const) rows.push(await measureQuality(fixtures, model, w));
  if (values.json) console.log(JSON.stringify({ quality: rows }, null, 1));
  else {
    console.log("| model | weights | positions | top-1 | mean KL | max |Δlogit| |\n|---|---|---|---|---|---|");
    for (const r of rows)
      console.log(`| ${r.model} | ${r.weights} | ${r.positions} | ${(r.top1 * 100).toFixed(1)}% | ${r.meanKl.toExponential(2)} | ${r.maxAbsDiff.toExponential(2)} |`);
  }
} else {
  const wanted = values.models!.split(",");
  const models = benchModels(values.configs!, Number(values["moe-layers"])).filter(
    (m) => (wanted.includes("0.3B") && m.name === "ERNIE-4.5-0.3B") || (wanted.includes("moe") && m.name.includes("21B")),
  );
  const report = await runBench({
    models,
    formats: values.formats!.split(",") as WeightsFormat[],
    threads: Number(values.threads),
    repeats: Number(values.repeats),
    cacheDir: values.cache!,
    fixtureDir: path.join(fixtures, "tiny-ernie45-dense"),
    log: values.json ? (l) => process.stderr.write(l + "\n") : (l) => console.error(l),
  });
  console.log(values.json ? JSON.stringify(report, null, 1) : formatReport(report));
}
