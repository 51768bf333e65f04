// The soak benchmark's short version (bench/soak.mjs runs the long one): a few clients for ~20 s
// against the tiny model, with streaming, mid-stream disconnects, tool calls, json_schema replies,
// completions and malformed requests mixed in. No valid request may fail, every malformed one gets
// its status, and afterwards the engine holds no sequence and no KV block.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Engine } from "@wenxin/engine";

// @ts-expect-error: a plain .mjs module without type declarations
import { runSoak } from "../bench/soak_driver.mjs";
import { loadDense, MODEL_ID, startTestServer, type TestServer } from "./helpers/test_server.js";

const API_KEY = "soak-key";
let engine: Engine;
let srv: TestServer;

beforeAll(async () => {
  engine = await loadDense();
  srv = await startTestServer(engine, { apiKey: API_KEY, logLevel: "warn" });
});

afterAll(async () => {
  await srv?.stop();
  await engine?.close();
});

describe("soak (short)", () => {
  it("serves a mixed load with no failed valid request and returns to idle", async () => {
    const report = await runSoak({
      url: srv.url,
      modelName: MODEL_ID,
      clients: 6,
      durationMs: 20_000,
      maxTokens: 16,
      apiKey: API_KEY,
      seed: 7,
    });
    expect(report.failures).toEqual([]);
    expect(report.valid_failed).toBe(0);
    expect(report.malformed_wrong_status).toBe(0);
    for (const kind of ["stream", "disconnect", "tool_call", "json_schema", "completion", "malformed"])
      expect(report.by_kind[kind]).toBeGreaterThan(0);
    expect(report.idle).toMatchObject({
      idle: true,
      requests_running: 0,
      queue_depth: 0,
      sequences_running: 0,
      kv_blocks_used: 0,
    });
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0 });
    expect(srv.server.model.inFlightCount).toBe(0);
  });
});
