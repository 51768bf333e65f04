// Runs the native scheduler tests (native/test/scheduler_test.cpp): step by step, a new request's
// prompt comes before recomputes and shares no step with background work (sequences once paused
// because their consumer fell behind); background work is bounded per step, taken in turn, admitted
// after and preempted before everything else, and still progresses alone.
import { describe, it } from "vitest";

import { runNativeTests } from "../helpers/native_tests.js";

describe("native scheduler", () => {
  it("serves new requests' first tokens ahead of bounded, rotating background work", async () => {
    await runNativeTests("wenxin_scheduler_tests", 20);
  });
});
