// Runs the native scheduler tests (native/test/scheduler_test.cpp): step by step, a new request's
// prompt comes before recomputes and shares no step with background work (sequences once paused
// because their consumer fell behind); background work is bounded per step, taken in turn, admitted
// after and preempted before everything else, and still progresses alone.
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { describe, expect, it } from "vitest";

const BIN = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../native/build/tests/wenxin_scheduler_tests",
);

describe("native scheduler", () => {
  it("serves new requests' first tokens ahead of bounded, rotating background work", async () => {
    const { stdout } = await promisify(execFile)(BIN);
    expect(stdout).not.toMatch(/^FAIL/m);
    const summary = stdout.match(/^(\d+) passed, (\d+) failed$/m);
    expect(summary).not.toBeNull();
    expect(Number(summary![2])).toBe(0);
    expect(Number(summary![1])).toBeGreaterThan(20);
  });
});
