// Replays the native fuzz targets' seed corpora and every input that once crashed them
// (native/fuzz/corpus/<target>, native/fuzz/regressions/<target>) through the same entry points,
// built without libFuzzer into the normal build. Under `pnpm test:asan` they run sanitized.
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { describe, expect, it } from "vitest";

const NATIVE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../native");
const BUILD = process.env.WENXIN_NATIVE_PATH
  ? path.resolve(path.dirname(process.env.WENXIN_NATIVE_PATH), "..")
  : path.join(NATIVE, "build");

// One replayer per native/fuzz/fuzz_<target>.cpp.
const TARGETS = readdirSync(path.join(NATIVE, "fuzz"))
  .filter((f) => /^fuzz_\w+\.cpp$/.test(f))
  .map((f) => f.slice("fuzz_".length, -".cpp".length));

describe("native fuzz replay", () => {
  it("finds the targets", () =>
    expect(TARGETS).toEqual(expect.arrayContaining(["safetensors_header", "hparams", "grammar", "gguf"])));

  it.each(TARGETS)("%s: seeds and regressions run clean", async (target) => {
    const inputs = [path.join(NATIVE, "fuzz/corpus", target), path.join(NATIVE, "fuzz/regressions", target)].filter(
      existsSync,
    );
    const { stdout } = await promisify(execFile)(path.join(BUILD, "tests", `wenxin_replay_${target}`), inputs);
    const replayed = Number(stdout.match(/replayed (\d+) inputs/)?.[1]);
    expect(replayed).toBeGreaterThan(1);
  });
});
