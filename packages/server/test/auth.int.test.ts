// The API key is decided on the route the router matched: request targets that the router
// normalises (absolute form, percent-encoded path segments) must not slip past it. Sent over a raw
// socket, since fetch() would normalise them before they leave.
import { describe, expect, it } from "vitest";

import { rawRequest, sendRaw } from "./helpers/raw_http.js";
import { MODEL_ID, startTestServer, useDenseServer } from "./helpers/test_server.js";

const KEY = "sekret";
const METRICS_KEY = "scrape-only";

const ctx = useDenseServer({ apiKey: KEY, metricsKey: METRICS_KEY });

const chatBody = JSON.stringify({ model: MODEL_ID, messages: [{ role: "user", content: "hi" }], max_tokens: 2 });
const completionBody = JSON.stringify({ model: MODEL_ID, prompt: "hi", max_tokens: 2 });
const embeddingBody = JSON.stringify({ model: MODEL_ID, input: "hi" });

/** Targets that route to a protected handler, each spelled so that a check on the raw URL misses it. */
const DISGUISED: [method: string, target: string, body?: string][] = [
  ["GET", "http://127.0.0.1/v1/models"],
  ["GET", "/%761/models"],
  ["GET", "/v1/%6dodels"],
  ["POST", "/%76%31/chat/completions", chatBody],
  ["POST", "/v%31/embeddings", embeddingBody],
  ["POST", "http://127.0.0.1/v1/completions", completionBody],
  ["GET", "/%6detrics"],
  ["GET", "//v1/models"],
];

describe("with an API key", () => {
  it.each(DISGUISED)("refuses %s %s without the key", async (method, target, body) => {
    const res = await sendRaw(ctx.srv.url, rawRequest(method, target, { body }));
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).error.code).toBe("invalid_api_key");
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="wenxin"');
  });

  it("serves the same disguised targets with the key", async () => {
    for (const [method, target, body] of DISGUISED.slice(0, 6)) {
      const res = await sendRaw(
        ctx.srv.url,
        rawRequest(method, target, { body, headers: { authorization: `Bearer ${KEY}` } }),
      );
      expect([method, target, res.status]).toEqual([method, target, 200]);
    }
  });

  it("keeps /health open, and /health only", async () => {
    expect((await sendRaw(ctx.srv.url, rawRequest("GET", "/health"))).status).toBe(200);
    expect((await sendRaw(ctx.srv.url, rawRequest("GET", "/%68ealth"))).status).toBe(200);
    // An unknown route needs the key too: without it, nothing tells which routes exist.
    expect((await sendRaw(ctx.srv.url, rawRequest("GET", "/nothing-here"))).status).toBe(401);
    const known = await sendRaw(
      ctx.srv.url,
      rawRequest("GET", "/nothing-here", { headers: { authorization: `Bearer ${KEY}` } }),
    );
    expect(known.status).toBe(404);
  });

  it("opens /metrics to the metrics key only, and the API to the API key only", async () => {
    const metrics = (key: string) =>
      sendRaw(ctx.srv.url, rawRequest("GET", "/metrics", { headers: { authorization: `Bearer ${key}` } }));
    // API clients cannot watch the counters other clients' requests move (the prefix cache's among them).
    expect((await metrics(KEY)).status).toBe(401);
    expect((await metrics(METRICS_KEY)).status).toBe(200);
    expect((await metrics("nope")).status).toBe(401);
    const models = await sendRaw(
      ctx.srv.url,
      rawRequest("GET", "/v1/models", { headers: { authorization: `Bearer ${METRICS_KEY}` } }),
    );
    expect(models.status).toBe(401);
  });
});

describe("with an API key and no metrics key", () => {
  it("opens /metrics to the API key", async () => {
    const keyed = await startTestServer(ctx.engine, { apiKey: KEY });
    try {
      const res = await sendRaw(
        keyed.url,
        rawRequest("GET", "/metrics", { headers: { authorization: `Bearer ${KEY}` } }),
      );
      expect(res.status).toBe(200);
      expect((await sendRaw(keyed.url, rawRequest("GET", "/metrics"))).status).toBe(401);
    } finally {
      await keyed.stop();
    }
  });
});

describe("without an API key", () => {
  it("serves every route, /metrics included", async () => {
    const open = await startTestServer(ctx.engine);
    try {
      expect((await sendRaw(open.url, rawRequest("GET", "/v1/models"))).status).toBe(200);
      expect((await sendRaw(open.url, rawRequest("GET", "/metrics"))).status).toBe(200);
    } finally {
      await open.stop();
    }
  });
});
