// Runs the native kernel tests (native/test/kernels_test.cpp): every ISA this CPU supports against
// the generic reference on odd sizes. WENXIN_ISA-selected paths are additionally covered end to end
// by the golden tests in packages/engine/test/engine/isa_paths.int.test.ts.
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { describe, expect, it } from "vitest";

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../native/build/tests/wenxin_kernel_tests");

describe("native kernels", () => {
  it("every ISA path matches the generic reference", async () => {
    const { stdout } = await promisify(execFile)(BIN);
    expect(stdout).toMatch(/^generic: \d+ checks$/m);
    expect(stdout).not.toMatch(/^FAIL/m);
    const summary = stdout.match(/^(\d+) passed, (\d+) failed$/m);
    expect(summary).not.toBeNull();
    expect(Number(summary![2])).toBe(0);
    expect(Number(summary![1])).toBeGreaterThan(600);
  });
});
