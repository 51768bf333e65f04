// Soak benchmark on loopback: `wenxin serve` as a child on 127.0.0.1 and `--clients` concurrent
// clients for `--minutes`, each sending a random mix of streaming chats, mid-stream disconnects,
// tool calls, json_schema replies, completions and malformed requests (see soak_driver.mjs).
//
//   pnpm exec turbo run build
//   pnpm --filter @wenxin/server bench:soak [--minutes 30 --clients 64 --json]
//
// Reports requests served, failed valid requests (must be 0), malformed requests answered with
// the wrong status (must be 0), p50/p99 time to first token, the server's resident memory
// (sampled every `--sample-every` s; slope in MB/min by least squares after the warm-up, the first
// third of the run unless `--warmup` minutes say otherwise) and the idle state at the end (nothing
// running or queued, KV blocks used 0). Exits 1 when a check fails.
import { parseArgs } from "node:util";

import { rssMb, startServeProcess } from "./bench_client.mjs";
import { resolveBenchModel } from "./bench_model.mjs";
import { runSoak } from "./soak_driver.mjs";

const { values: args } = parseArgs({
  // `pnpm run x -- --flag` passes the `--` on: skip it.
  args: process.argv.slice(2).filter((a, i) => !(i === 0 && a === "--")),
  options: {
    model: { type: "string" },
    minutes: { type: "string", default: "30" },
    clients: { type: "string", default: "64" },
    "max-tokens": { type: "string", default: "16" },
    "sample-every": { type: "string", default: "10" },
    warmup: { type: "string" },
    threads: { type: "string" },
    "max-concurrency": { type: "string" },
    "api-key": { type: "string" },
    seed: { type: "string", default: "1" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log(
    "usage: soak.mjs [--model DIR] [--minutes 30] [--clients 64] [--max-tokens 16] [--sample-every S] [--warmup MIN] [--threads N] [--max-concurrency N] [--api-key KEY] [--seed N] [--json]",
  );
  process.exit(0);
}
const log = (line) => (args.json ? process.stderr : process.stdout).write(`${line}\n`);
const MODEL_NAME = "ERNIE-4.5-0.3B-random";

const modelDir = await resolveBenchModel(args.model, log);
const server = await startServeProcess({
  model: modelDir,
  modelName: MODEL_NAME,
  threads: args.threads,
  apiKey: args["api-key"],
  maxConcurrency: args["max-concurrency"],
});
log(
  `wenxin serve on ${server.url} (pid ${server.pid}), model ${modelDir}; soaking ${args.minutes} min with ${args.clients} clients`,
);

let exitCode = 0;
try {
  const report = await runSoak({
    url: server.url,
    modelName: MODEL_NAME,
    clients: Number(args.clients),
    durationMs: Number(args.minutes) * 60_000,
    maxTokens: Number(args["max-tokens"]),
    apiKey: args["api-key"],
    seed: Number(args.seed),
    rss: () => rssMb(server.pid),
    sampleEveryMs: Number(args["sample-every"]) * 1000,
    warmupMs: args.warmup === undefined ? undefined : Number(args.warmup) * 60_000,
    log,
  });
  const exit = await server.stop();
  const result = { model: modelDir, ...report, server_exit: exit };
  if (report.valid_failed > 0 || report.malformed_wrong_status > 0 || !report.idle.idle || exit !== 0) exitCode = 1;
  if (args.json) console.log(JSON.stringify(result, null, 2));
  else {
    log(
      `${result.requests} requests in ${result.minutes} min (${JSON.stringify(result.by_kind)}): ${result.valid_failed}/${result.valid} valid failed, ` +
        `${result.malformed_wrong_status}/${result.malformed} malformed with the wrong status; TTFT p50 ${result.ttft_p50_ms} ms p99 ${result.ttft_p99_ms} ms`,
    );
    const { series: _series, ...rss } = result.rss ?? {};
    log(`RSS ${JSON.stringify(rss)}`);
    log(`idle: ${JSON.stringify(result.idle)}; server exit ${exit}`);
  }
} catch (err) {
  log(`soak failed: ${err instanceof Error ? err.stack : err}\n${server.log()}`);
  await server.stop();
  exitCode = 1;
}
process.exit(exitCode);
