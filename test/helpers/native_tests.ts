// Runs one of the native test programs (native/build/tests/<name>, built with the addon) and checks
// its report: no FAIL line, and the summary `N passed, 0 failed` with more than `minPassed` passes.
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { expect } from "vitest";

const TESTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../native/build/tests");

/**
 * Runs native/build/tests/`name` (with `env` added to this process's environment), checks its summary,
 * and returns its output for further checks.
 */
export async function runNativeTests(name: string, minPassed: number, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await promisify(execFile)(path.join(TESTS, name), { env: { ...process.env, ...env } });
  expect(stdout).not.toMatch(/^FAIL/m);
  const summary = stdout.match(/^(\d+) passed, (\d+) failed$/m);
  expect(summary).not.toBeNull();
  expect(Number(summary![2])).toBe(0);
  expect(Number(summary![1])).toBeGreaterThan(minPassed);
  return stdout;
}
