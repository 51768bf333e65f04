// Runs the native thread-pool tests (native/test/thread_pool_test.cpp): a loop body that throws on
// any thread gives the caller its exception after every thread has left the loop; nothing aborts.
import { describe, it } from "vitest";

import { runNativeTests } from "../helpers/native_tests.js";

describe("native thread pool", () => {
  it("carries the first exception of a loop back to its caller once every thread has stopped", async () => {
    await runNativeTests("wenxin_thread_pool_tests", 20);
  });
});
