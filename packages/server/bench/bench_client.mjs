// What the load and soak benchmarks share: the server as a child process (`wenxin serve` on
// loopback), a streaming chat client that times its answer and checks it end to end, the catalogue
// of malformed requests with the status each must get, /metrics scraping and small statistics.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { Random } from "@wenxin/engine/internal";

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, "../../..");
const CLI = path.join(REPO_ROOT, "packages/cli/dist/index.js");

/** The value at quantile `q` (0..1) of `values` (nearest rank); NaN when empty. */
export function quantile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Least-squares slope and intercept of y over x. */
export function linearFit(xs, ys) {
  const n = xs.length;
  if (n < 2) return { slope: NaN, intercept: NaN };
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxx === 0 ? NaN : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** A small seeded PRNG (mulberry32), so a run's mix of requests can be replayed. */
export function prng(seed) {
  const r = new Random(seed);
  return () => r.uniform();
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resident set size of a process in MB (Linux /proc). */
export function rssMb(pid) {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Starts `wenxin serve` as a child on 127.0.0.1 and waits until /health says ok.
 * Returns its url, pid and `stop()` (SIGTERM, resolves with the exit code).
 */
export async function startServeProcess({
  model,
  modelName = "bench",
  threads,
  apiKey,
  maxConcurrency,
  extraArgs = [],
  timeoutMs = 120_000,
}) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (pnpm exec turbo run build)`);
  const port = await freePort();
  const args = [
    CLI,
    "serve",
    "--model",
    model,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--model-name",
    modelName,
    "--log-level",
    "warn",
  ];
  if (threads) args.push("--threads", String(threads));
  if (apiKey) args.push("--api-key", apiKey);
  if (maxConcurrency) args.push("--max-concurrency", String(maxConcurrency));
  args.push(...extraArgs);
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (chunk) => (log = (log + chunk.toString("utf8")).slice(-20_000));
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wenxin serve exited with ${child.exitCode}:\n${log}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) break;
      await res.arrayBuffer();
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`wenxin serve did not become healthy in ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    pid: child.pid,
    log: () => log,
    async stop() {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Parses Prometheus text into `name{labels}` → value (labels as printed; plain `name` when none). */
export async function scrapeMetrics(url, apiKey) {
  const res = await fetch(`${url}/metrics`, { headers: authHeaders(apiKey) });
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  const text = await res.text();
  const out = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** An error's message with its cause (fetch's "fetch failed" says nothing on its own). */
export function describeError(err) {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.code ?? err.cause.name}: ${err.cause.message})` : "";
  return `${err.message}${cause}`;
}

function authHeaders(apiKey) {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

// node:http rather than fetch: undici's fetch gives up after 300 s without response headers, and a
// request queued behind 200 others on a 2-core machine can wait that long before its answer starts.
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

/** POSTs `payload` (a string or a Buffer) and resolves with the request and its response (body unread). */
function post(url, route, payload, headers = {}) {
  return new Promise((resolve, reject) => {
    const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    const req = http.request(`${url}${route}`, {
      method: "POST",
      agent,
      headers: { "content-type": "application/json", "content-length": bytes.length, ...headers },
    });
    req.once("response", (res) => resolve({ req, res }));
    req.once("error", reject);
    req.end(bytes);
  });
}

async function readAll(res) {
  res.setEncoding("utf8");
  let text = "";
  for await (const chunk of res) text += chunk;
  return text;
}

/**
 * One streaming /v1/chat/completions request, read to the end and checked: status 200, every
 * frame valid JSON, no error event, a finish_reason, the usage chunk and `[DONE]`.
 * `disconnectAfter` (chunks) makes the client hang up mid-stream on purpose.
 * Resolves with { ok, status, ttftMs, totalMs, completionTokens, finishReason, error, disconnected }.
 */
export async function streamChat(url, body, { apiKey, disconnectAfter } = {}) {
  const started = performance.now();
  const out = {
    ok: false,
    status: 0,
    ttftMs: NaN,
    totalMs: NaN,
    completionTokens: 0,
    finishReason: null,
    error: null,
    disconnected: false,
    toolCalls: 0,
    content: "",
  };
  try {
    const { req, res } = await post(
      url,
      "/v1/chat/completions",
      JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
      authHeaders(apiKey),
    );
    out.status = res.statusCode;
    if (res.statusCode !== 200) {
      out.error = `status ${res.statusCode}: ${(await readAll(res)).slice(0, 300)}`;
      return out;
    }
    res.setEncoding("utf8");
    let buffer = "";
    let chunks = 0;
    let done = false;
    let usage = null;
    for await (const data of res) {
      buffer += data;
      let end;
      while (!done && (end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (frame.startsWith(": ")) continue; // a keep-alive comment while the request waits or prefills
        if (!frame.startsWith("data: ")) throw new Error(`malformed SSE frame ${JSON.stringify(frame.slice(0, 80))}`);
        const payload = frame.slice(6);
        if (payload === "[DONE]") {
          done = true;
          break;
        }
        const chunk = JSON.parse(payload);
        if (chunk.error) throw new Error(`error event: ${JSON.stringify(chunk.error)}`);
        if (chunk.usage) usage = chunk.usage;
        for (const choice of chunk.choices ?? []) {
          const d = choice.delta ?? {};
          const produced = d.content || d.reasoning_content || d.tool_calls?.length || choice.finish_reason;
          if (produced && Number.isNaN(out.ttftMs)) out.ttftMs = performance.now() - started;
          if (d.content) out.content += d.content;
          if (d.tool_calls) out.toolCalls += d.tool_calls.filter((c) => c.id).length;
          if (choice.finish_reason) out.finishReason = choice.finish_reason;
        }
        if (disconnectAfter !== undefined && ++chunks >= disconnectAfter) {
          out.disconnected = true;
          req.destroy();
          res.destroy();
          out.totalMs = performance.now() - started;
          out.ok = true;
          return out;
        }
      }
    }
    if (!done) throw new Error("stream ended without [DONE]");
    if (buffer !== "") throw new Error(`data after [DONE]: ${JSON.stringify(buffer.slice(0, 80))}`);
    if (!out.finishReason) throw new Error("no finish_reason");
    if (!usage) throw new Error("no usage chunk");
    out.completionTokens = usage.completion_tokens;
    out.totalMs = performance.now() - started;
    out.ok = true;
  } catch (err) {
    out.error = describeError(err);
  }
  return out;
}

/** A plain (non-streaming) JSON POST; resolves with { status, json, text }. */
export async function postJson(url, route, body, { apiKey, headers = {} } = {}) {
  const { res } = await post(
    url,
    route,
    typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    {
      ...authHeaders(apiKey),
      ...headers,
    },
  );
  const text = await readAll(res);
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, json, text };
}

/**
 * Requests a client can get wrong, each with the status and OpenAI error code the server must
 * answer. `bodyLimit` sizes the oversize one; `apiKey` adds a wrong-key case.
 */
export function malformedRequests({ modelName, bodyLimit = 4 * 1024 * 1024, apiKey }) {
  const chat = (extra) => ({ model: modelName, messages: [{ role: "user", content: "hi" }], max_tokens: 4, ...extra });
  const cases = [
    { name: "invalid_json", body: `{"model": "${modelName}", "messages": [`, status: 400, code: "invalid_json" },
    { name: "not_an_object", body: "[1, 2, 3]", status: 400, code: "invalid_json" },
    { name: "wrong_type", body: chat({ messages: "hello" }), status: 400, code: "invalid_value" },
    { name: "missing_messages", body: { model: modelName }, status: 400, code: "missing_required_parameter" },
    { name: "out_of_range", body: chat({ temperature: 9 }), status: 400, code: "invalid_value" },
    { name: "unknown_model", body: chat({ model: "no-such-model" }), status: 404, code: "model_not_found" },
    { name: "context_overflow", body: chat({ max_tokens: 10_000_000 }), status: 400, code: "context_length_exceeded" },
    {
      name: "bad_tool_name",
      body: chat({ tools: [{ type: "function", function: { name: "no spaces allowed" } }] }),
      status: 400,
      code: "invalid_value",
    },
    {
      name: "image_part",
      body: chat({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] }),
      status: 400,
    },
    {
      name: "top_logprobs_range",
      body: chat({ logprobs: true, top_logprobs: 21 }),
      status: 400,
      code: "invalid_value",
    },
    {
      name: "oversize",
      oversize: true,
      body: JSON.stringify(chat({ messages: [{ role: "user", content: "x".repeat(bodyLimit + 1) }] })),
      status: 413,
      code: "request_too_large",
    },
    { name: "unknown_route", route: "/v1/chat/completion", body: chat({}), status: 404, code: "unknown_url" },
  ];
  if (apiKey)
    cases.push({
      name: "wrong_api_key",
      body: chat({}),
      status: 401,
      code: "invalid_api_key",
      headers: { authorization: "Bearer wrong-key" },
    });
  return cases;
}

/**
 * POSTs a body the server refuses on its Content-Length alone. The server answers 413 at once and
 * closes the connection (it will not read megabytes it refuses), so a client still uploading gets
 * EPIPE instead of the answer. Like a client using `Expect: 100-continue`, this one sends the
 * headers, waits for an early answer, and sends the body only if none comes.
 */
export function postOversize(url, route, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const req = http.request(`${url}${route}`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": bytes.length, ...headers },
    });
    let answered = false;
    const timer = setTimeout(() => req.end(bytes), 2000);
    req.on("response", (res) => {
      answered = true;
      clearTimeout(timer);
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => {
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, json, text });
        req.destroy();
      });
    });
    req.on("error", (err) => {
      clearTimeout(timer);
      if (!answered) reject(err);
    });
    req.flushHeaders();
  });
}

/** Sends one malformed request; resolves with { name, ok, status, code, error }. */
export async function sendMalformed(url, c, apiKey) {
  try {
    const route = c.route ?? "/v1/chat/completions";
    const res = c.oversize
      ? await postOversize(url, route, c.body, apiKey ? { authorization: `Bearer ${apiKey}` } : {})
      : await postJson(url, route, c.body, { apiKey, headers: c.headers });
    const code = res.json?.error?.code ?? null;
    const ok = res.status === c.status && (c.code === undefined || code === c.code);
    return {
      name: c.name,
      ok,
      status: res.status,
      code,
      error: ok ? null : `expected ${c.status} ${c.code ?? ""}, got ${res.status} ${code}`,
    };
  } catch (err) {
    return { name: c.name, ok: false, status: 0, code: null, error: describeError(err) };
  }
}

/** Short user messages in a few languages, so prompts differ between clients. */
const TOPICS = [
  "the sea",
  "a mountain village",
  "机器学习",
  "春天的早晨",
  "a robot that paints",
  "distributed systems",
  "北京的秋天",
  "a lost key",
];
export function userMessage(i) {
  return `Write two sentences about ${TOPICS[i % TOPICS.length]} (#${i}).`;
}
