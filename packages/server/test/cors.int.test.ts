// --cors: off by default (no CORS headers); with origins given, browsers' preflights are answered
// (without the key, which preflights never carry) and responses name the allowed origin.
import { describe, expect, it } from "vitest";

import { MODEL_ID, startTestServer, useDenseServer } from "./helpers/test_server.js";

const ORIGIN = "https://app.example.com";

const ctx = useDenseServer({ cors: [ORIGIN], apiKey: "k" });

const preflight = (url: string, origin: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization,content-type",
    },
  });

describe("--cors", () => {
  it("answers a preflight from an allowed origin, without the key", async () => {
    const res = await preflight(ctx.srv.url, ORIGIN);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")).toMatch(/authorization/);
  });

  it("names the origin on answers, which still need the key", async () => {
    const chat = (headers: Record<string, string>) =>
      fetch(`${ctx.srv.baseURL}/chat/completions`, {
        method: "POST",
        headers: { origin: ORIGIN, "content-type": "application/json", ...headers },
        body: JSON.stringify({ model: MODEL_ID, messages: [{ role: "user", content: "hi" }], max_tokens: 1 }),
      });
    const ok = await chat({ authorization: "Bearer k" });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(ok.headers.get("access-control-expose-headers")).toContain("x-request-id");
    expect((await chat({})).status).toBe(401);
  });

  it("gives another origin no CORS headers", async () => {
    const res = await preflight(ctx.srv.url, "https://evil.example.net");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("is off by default", async () => {
    const plain = await startTestServer(ctx.engine);
    try {
      const res = await preflight(plain.url, ORIGIN);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      const models = await fetch(`${plain.baseURL}/models`, { headers: { origin: ORIGIN } });
      expect(models.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await plain.stop();
    }
  });
});
