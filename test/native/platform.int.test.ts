// Runs the platform-layer tests (native/test/platform_test.cpp): the CPU feature probe against
// the compiler's own, regular-file-only mapping (a FIFO is refused without blocking), a file
// truncated under its mapping (no SIGBUS: zeros, then a typed error), thread pinning.
import { describe, expect, it } from "vitest";

import { runNativeTests } from "../helpers/native_tests.js";

describe("native platform layer", () => {
  it("probes the CPU, maps only regular files, survives truncation, pins threads", async () => {
    const stdout = await runNativeTests("wenxin_platform_tests", 20);
    expect(stdout).toMatch(/^cpu features: /m);
  });
});
