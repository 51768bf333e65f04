import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { defineConfig } from "vitest/config";

const root = path.dirname(fileURLToPath(import.meta.url));

// The kernel paths this CPU runs besides the one it picks by default: the golden tests run once more
// through each (WENXIN_ISA set for that project), so every path meets the goldens. Asked of the built
// addon in a child process (the config must not load it); before the first build there are none.
function otherKernelPaths(): string[] {
  const engine = path.join(root, "packages/engine/dist/index.js");
  if (!existsSync(engine)) return [];
  // A built engine that cannot say its kernel paths is a failure, not a reason to run fewer tests.
  const script = `const m = await import(${JSON.stringify(engine)}); const k = m.systemInfo().kernels;
    console.log(JSON.stringify(k.supported.filter((s) => s !== k.active)));`;
  const env = { ...process.env };
  delete env.WENXIN_ISA;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { env, encoding: "utf8" });
  return JSON.parse(out) as string[];
}

const GOLDENS = ["packages/engine/test/engine/goldens*.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // At least two test files at a time. Vitest's default (one fewer than the CPUs) runs them one by one on a
    // 2-core machine such as CI's, where most files wait on timers, sockets or child processes and a fork
    // with its imports costs ~0.8 s: on 2 cores one worker kept 1.3 of them busy.
    maxWorkers: Math.max(os.availableParallelism() - 1, 2),
    projects: [
      { extends: true, test: { name: "wenxin", include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"] } },
      ...otherKernelPaths().map((isa) => ({
        extends: true,
        test: { name: `goldens-${isa}`, include: GOLDENS, env: { WENXIN_ISA: isa } },
      })),
    ],
  },
});
