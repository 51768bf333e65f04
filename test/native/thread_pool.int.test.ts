// Runs the native thread-pool tests (native/test/thread_pool_test.cpp): a loop body that throws on
// any thread gives the caller its exception after every thread has left the loop; nothing aborts.
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { describe, expect, it } from "vitest";

const BIN = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../native/build/tests/wenxin_thread_pool_tests",
);

describe("native thread pool", () => {
  it("carries the first exception of a loop back to its caller once every thread has stopped", async () => {
    const { stdout } = await promisify(execFile)(BIN);
    expect(stdout).not.toMatch(/^FAIL/m);
    const summary = stdout.match(/^(\d+) passed, (\d+) failed$/m);
    expect(summary).not.toBeNull();
    expect(Number(summary![2])).toBe(0);
    expect(Number(summary![1])).toBeGreaterThan(20);
  });
});
