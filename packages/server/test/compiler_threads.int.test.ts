// The constraint compiler's lanes start with the server (once its model is loaded), like the
// tokenizer's and the body parser's threads, not with the first request that carries a schema:
// starting them then took tens of milliseconds of the CPUs from the requests being served (in the
// abuse benchmark, the slowest normal requests were those beside the window's first schema).
import { constraintThreadsStarted, setLowPriorityNice } from "@wenxin/engine/internal";
import { describe, expect, it } from "vitest";

import { useDenseServer } from "./helpers/test_server.js";

// The slow lane's processes below the server's priority, at nice 1 rather than 19: this test counts
// them, and a loaded machine would not starve their start (packages/engine/test/worker/low_priority.test.ts).
setLowPriorityNice(1);

const ctx = useDenseServer();

describe("the constraint compiler's threads", () => {
  it("are started once the model is loaded, before any schema arrives", async () => {
    // the server's engine was loaded before it started, so its lanes are started by now; nothing in
    // this process has compiled a constraint
    const health = await fetch(`${ctx.srv.url}/health`);
    expect(health.status).toBe(200);
    const started = constraintThreadsStarted();
    expect(started.fast).toBe(1);
    expect(started.slow).toBeGreaterThanOrEqual(1); // as many as the slow lane has (its size is the lane's own)
  });
});
