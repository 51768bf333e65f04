// Runs the native kernel tests (native/test/kernels_test.cpp): every ISA this CPU supports against
// the generic reference on odd sizes. WENXIN_ISA-selected paths are additionally covered end to end
// by the golden tests in packages/engine/test/engine/isa_paths.int.test.ts.
import { describe, expect, it } from "vitest";

import { runNativeTests } from "../helpers/native_tests.js";

describe("native kernels", () => {
  it("every ISA path matches the generic reference", async () => {
    const stdout = await runNativeTests("wenxin_kernel_tests", 600);
    expect(stdout).toMatch(/^generic: \d+ checks$/m);
  });
});
