// Runs the native kernel tests (native/test/kernels_test.cpp): every ISA this CPU supports against
// the generic reference on odd sizes. Each path is also run end to end under WENXIN_ISA against the
// goldens (packages/bench/test/quality.int.test.ts, "kernel paths") and on saved checkpoints
// (packages/engine/test/model/quantize.int.test.ts).
import { describe, expect, it } from "vitest";

import { runNativeTests } from "../helpers/native_tests.js";

describe("native kernels", () => {
  it("every ISA path matches the generic reference", async () => {
    const stdout = await runNativeTests("wenxin_kernel_tests", 600);
    expect(stdout).toMatch(/^generic: \d+ checks$/m);
  });
});
