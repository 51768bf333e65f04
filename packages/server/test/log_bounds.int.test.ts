// Strings a client sends (model name, URL, Host header, content part types) may be megabytes long;
// neither the logs nor the error messages grow with them.
import { describe, expect, it } from "vitest";

import { rawRequest, sendRaw } from "./helpers/raw_http.js";
import { MODEL_ID, postJson, useDenseServer } from "./helpers/test_server.js";

const LOG_STRING_LIMIT = 4096;

const ctx = useDenseServer();

/** The longest string anywhere in the log lines written since `from`. */
function longestLoggedString(from: number): number {
  let longest = 0;
  const walk = (v: unknown): void => {
    if (typeof v === "string") longest = Math.max(longest, v.length);
    else if (v && typeof v === "object") for (const x of Object.values(v)) walk(x);
  };
  ctx.srv.logs.slice(from).forEach(walk);
  return longest;
}

describe("client strings in logs and errors", () => {
  it("clips a megabyte model name", async () => {
    const from = ctx.srv.logs.length;
    const res = await postJson(`${ctx.srv.baseURL}/chat/completions`, {
      model: "m".repeat(1_000_000),
      messages: [{ role: "user", content: "hi" }],
    });
    expect(res.status).toBe(404);
    expect(res.json.error.message).toMatch(/^The model 'm{64}…\(999936 more characters\)' does not exist/);
    expect(ctx.srv.logs.length).toBeGreaterThan(from);
    expect(longestLoggedString(from)).toBeLessThan(LOG_STRING_LIMIT);
  });

  it("clips a long URL and Host header", async () => {
    const from = ctx.srv.logs.length;
    const res = await sendRaw(ctx.srv.url, rawRequest("GET", `/${"u".repeat(12_000)}`, { host: "h".repeat(3000) }));
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body).error.message.length).toBeLessThan(200);
    expect(longestLoggedString(from)).toBeLessThan(1024);
    expect(JSON.stringify(ctx.srv.logs.slice(from))).toContain("more characters");
  });

  it("clips a long content part type", async () => {
    const from = ctx.srv.logs.length;
    const res = await postJson(`${ctx.srv.baseURL}/chat/completions`, {
      model: MODEL_ID,
      messages: [{ role: "user", content: [{ type: "t".repeat(500_000) }] }],
    });
    expect(res.status).toBe(400);
    expect(res.json.error.message.length).toBeLessThan(300);
    expect(longestLoggedString(from)).toBeLessThan(LOG_STRING_LIMIT);
  });
});
