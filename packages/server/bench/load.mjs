// Load benchmark on loopback: `wenxin serve` as a child on 127.0.0.1 and N concurrent streaming
// chat clients against it, on a random-weight model of the ERNIE-4.5-0.3B shape.
//
//   pnpm exec turbo run build
//   pnpm --filter @wenxin/server bench:load [--clients 200 --max-tokens 16 --json]
//   node packages/server/bench/load.mjs --model DIR ...
//
// Phase "valid": every client sends one streaming chat request at once; reports p50/p99 time to
// first token, p50/p99 total latency, aggregate tokens/s and failures (must be 0).
// Phase "mixed": the same, with a share of the clients (`--malformed`, default 0.25) sending
// malformed requests instead (bad JSON, wrong types, oversize, unknown model, wrong key…): every
// valid request must still succeed and every malformed one get its 4xx. Exits 1 otherwise.
import { parseArgs } from "node:util";

import {
  malformedRequests,
  quantile,
  scrapeMetrics,
  sendMalformed,
  startServeProcess,
  streamChat,
  userMessage,
} from "./bench_client.mjs";
import { resolveBenchModel } from "./bench_model.mjs";

const { values: args } = parseArgs({
  // `pnpm run x -- --flag` passes the `--` on: skip it.
  args: process.argv.slice(2).filter((a, i) => !(i === 0 && a === "--")),
  options: {
    model: { type: "string" },
    clients: { type: "string", default: "200" },
    "max-tokens": { type: "string", default: "16" },
    malformed: { type: "string", default: "0.25" },
    threads: { type: "string" },
    "max-concurrency": { type: "string" },
    "api-key": { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log(
    "usage: load.mjs [--model DIR] [--clients 200] [--max-tokens 16] [--malformed 0.25] [--threads N] [--max-concurrency N] [--api-key KEY] [--json]",
  );
  process.exit(0);
}
const CLIENTS = Number(args.clients);
const MAX_TOKENS = Number(args["max-tokens"]);
const MALFORMED = Number(args.malformed);
const API_KEY = args["api-key"];
const MODEL_NAME = "ERNIE-4.5-0.3B-random";
const log = (line) => (args.json ? process.stderr : process.stdout).write(`${line}\n`);

const modelDir = await resolveBenchModel(args.model, log);
log(`model ${modelDir}`);
const server = await startServeProcess({
  model: modelDir,
  modelName: MODEL_NAME,
  threads: args.threads,
  apiKey: API_KEY,
  maxConcurrency: args["max-concurrency"],
});
log(`wenxin serve on ${server.url} (pid ${server.pid})`);

const request = (i) => ({
  model: MODEL_NAME,
  messages: [{ role: "user", content: userMessage(i) }],
  max_tokens: MAX_TOKENS,
  temperature: 0.8,
  seed: i,
});

/** Fires every client at once; `malformedEvery` = k makes client i malformed when i % k == 0. */
async function phase(name, malformedShare) {
  const cases = malformedRequests({ modelName: MODEL_NAME, apiKey: API_KEY });
  const every = malformedShare > 0 ? Math.round(1 / malformedShare) : 0;
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      if (every && i % every === 0)
        return { kind: "malformed", ...(await sendMalformed(server.url, cases[(i / every) % cases.length], API_KEY)) };
      return { kind: "valid", ...(await streamChat(server.url, request(i), { apiKey: API_KEY })) };
    }),
  );
  const wallS = (performance.now() - started) / 1000;
  const valid = results.filter((r) => r.kind === "valid");
  const malformed = results.filter((r) => r.kind === "malformed");
  const ok = valid.filter((r) => r.ok);
  const tokens = ok.reduce((n, r) => n + r.completionTokens, 0);
  const report = {
    phase: name,
    clients: CLIENTS,
    valid: valid.length,
    valid_failed: valid.length - ok.length,
    malformed: malformed.length,
    malformed_wrong_status: malformed.filter((r) => !r.ok).length,
    ttft_p50_ms: Math.round(
      quantile(
        ok.map((r) => r.ttftMs),
        0.5,
      ),
    ),
    ttft_p99_ms: Math.round(
      quantile(
        ok.map((r) => r.ttftMs),
        0.99,
      ),
    ),
    latency_p50_ms: Math.round(
      quantile(
        ok.map((r) => r.totalMs),
        0.5,
      ),
    ),
    latency_p99_ms: Math.round(
      quantile(
        ok.map((r) => r.totalMs),
        0.99,
      ),
    ),
    completion_tokens: tokens,
    tokens_per_s: Number((tokens / wallS).toFixed(1)),
    wall_s: Number(wallS.toFixed(1)),
    failures: [...valid, ...malformed]
      .filter((r) => !r.ok)
      .slice(0, 10)
      .map((r) => `${r.kind}${r.name ? ` ${r.name}` : ""}: ${r.error}`),
  };
  log(
    `${name}: ${report.valid} valid (${report.valid_failed} failed), ${report.malformed} malformed (${report.malformed_wrong_status} wrong status); ` +
      `TTFT p50 ${report.ttft_p50_ms} ms p99 ${report.ttft_p99_ms} ms; latency p50 ${report.latency_p50_ms} ms p99 ${report.latency_p99_ms} ms; ` +
      `${report.tokens_per_s} tok/s over ${report.wall_s} s`,
  );
  for (const f of report.failures) log(`  failure: ${f}`);
  return report;
}

let exitCode = 0;
const phases = [];
try {
  // One request first, so model warm-up (page faults on the mmapped weights) is not in the numbers.
  const warm = await streamChat(server.url, request(-1), { apiKey: API_KEY });
  if (!warm.ok) throw new Error(`warm-up request failed: ${warm.error}`);
  phases.push(await phase("valid", 0));
  if (MALFORMED > 0) phases.push(await phase("mixed", MALFORMED));
  const m = await scrapeMetrics(server.url, API_KEY);
  const idle = {
    requests_running: m.get("wenxin_requests_running"),
    queue_depth: m.get("wenxin_queue_depth"),
    kv_blocks_used: m.get("wenxin_kv_cache_blocks_used") ?? null,
  };
  const stopped = await server.stop();
  const report = {
    model: modelDir,
    max_tokens: MAX_TOKENS,
    malformed_share: MALFORMED,
    phases,
    idle,
    server_exit: stopped,
  };
  if (phases.some((p) => p.valid_failed > 0 || p.malformed_wrong_status > 0) || stopped !== 0) exitCode = 1;
  if (args.json) console.log(JSON.stringify(report, null, 2));
  else log(`idle after the run: ${JSON.stringify(idle)}; server exit ${stopped}`);
} catch (err) {
  log(`load benchmark failed: ${err instanceof Error ? err.stack : err}\n${server.log()}`);
  await server.stop();
  exitCode = 1;
}
process.exit(exitCode);
