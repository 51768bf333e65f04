// Runs the native sampler tests (native/test/sampler_test.cpp) once per kernel path this CPU runs:
// seeded draws follow softmax(logits / temperature) on a small and a full-size vocabulary, through each
// path's vectorised max and exponentials.
import { describe, expect, it } from "vitest";

import { systemInfo } from "../../packages/engine/src/index.js";
import { runNativeTests } from "../helpers/native_tests.js";

describe("native sampler", () => {
  it.each(systemInfo().kernels.supported)("draws tokens as often as their softmax says (%s)", async (isa) => {
    const stdout = await runNativeTests("wenxin_sampler_tests", 10, { WENXIN_ISA: isa });
    expect(stdout).toContain(`kernels: ${isa}`);
  });
});
