// Runs the platform-layer tests (native/test/platform_test.cpp): the CPU feature probe against
// the compiler's own, regular-file-only mapping (a FIFO is refused without blocking), a file
// truncated under its mapping (no SIGBUS: zeros, then a typed error), thread pinning.
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { describe, expect, it } from "vitest";

const BIN = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../native/build/tests/wenxin_platform_tests",
);

describe("native platform layer", () => {
  it("probes the CPU, maps only regular files, survives truncation, pins threads", async () => {
    const { stdout } = await promisify(execFile)(BIN);
    expect(stdout).toMatch(/^cpu features: /m);
    expect(stdout).not.toMatch(/^FAIL/m);
    const summary = stdout.match(/^(\d+) passed, (\d+) failed$/m);
    expect(summary).not.toBeNull();
    expect(Number(summary![2])).toBe(0);
    expect(Number(summary![1])).toBeGreaterThan(20);
  });
});
