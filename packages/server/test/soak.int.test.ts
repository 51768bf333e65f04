// The soak benchmark's short version (bench/soak.mjs runs the long one): a few clients for ~20 s
// against the tiny model, with streaming, mid-stream disconnects, tool calls, json_schema replies,
// completions and malformed requests mixed in. No valid request may fail, every malformed one gets
// its status, and afterwards the engine holds no sequence and no KV block.
import { describe, expect, it } from "vitest";

// @ts-expect-error: a plain .mjs module without type declarations
import { runSoak } from "../bench/soak_driver.mjs";
import { MODEL_ID, useDenseServer } from "./helpers/test_server.js";

const API_KEY = "soak-key";

const ctx = useDenseServer({ apiKey: API_KEY, logLevel: "warn" });

describe("soak (short)", () => {
  it("serves a mixed load with no failed valid request and returns to idle", async () => {
    const report = await runSoak({
      url: ctx.srv.url,
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
    expect(ctx.engine.stats()).toMatchObject({ running: 0, waiting: 0, kvBlocksUsed: 0 });
    expect(ctx.srv.server.model.inFlightCount).toBe(0);
  });
});
