// The TypeScript fuzz runs (`pnpm fuzz:ts`): not part of `pnpm test`, which replays their seeds and
// regressions instead (test/fuzz/regressions.test.ts).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/fuzz/**/*.fuzz.ts"],
    testTimeout: 900_000,
    pool: "forks",
  },
});
