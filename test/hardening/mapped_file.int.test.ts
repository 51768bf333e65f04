// Weight files are memory-mapped (native/src/core/mapped_file.h): a model file that is not a
// regular file is refused at once, and a file truncated while an engine uses it fails the
// requests that read it with a typed error instead of killing the process with SIGBUS.
import { execFileSync } from "node:child_process";
import { rmSync, truncateSync, unlinkSync } from "node:fs";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { Engine, WenxinError } from "../../packages/engine/src/index.js";
import { copyModelDir } from "../helpers/checkpoint.js";
import { DENSE_DIR, loadGolden } from "../helpers/fixtures.js";

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

function copy(): string {
  const dir = copyModelDir(DENSE_DIR);
  temps.push(dir);
  return dir;
}

async function rejection(p: Promise<unknown>): Promise<WenxinError> {
  const err = await p.then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WenxinError);
  return err as WenxinError;
}

describe("memory-mapped weight files", () => {
  it("refuses a FIFO in place of model.safetensors without waiting for a writer", async () => {
    const dir = copy();
    const file = path.join(dir, "model.safetensors");
    unlinkSync(file);
    execFileSync("mkfifo", [file]);
    const started = Date.now();
    const err = await rejection(Engine.load(dir, { threads: 1 }));
    expect(err.code).toBe("ERR_WENXIN_INVALID_FILE");
    expect(err.message).toContain("FIFO");
    expect(err.message).toContain(file);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("fails requests with a typed error when the mapped file is truncated under a running engine", async () => {
    const dir = copy();
    const file = path.join(dir, "model.safetensors");
    const engine = await Engine.load(dir, { threads: 2 });
    try {
      const prompt = loadGolden("tiny-ernie45-dense").json.prompts.plain!.input_ids;
      const before = await engine.generate({ inputIds: prompt, maxNewTokens: 2, temperature: 0 }).result();
      expect(before.tokenIds.length).toBeGreaterThan(0);
      truncateSync(file, 4096); // the weights now lie past the end of the file
      const err = await rejection(engine.generate({ inputIds: prompt, maxNewTokens: 2, temperature: 0 }).result());
      expect(err.code).toBe("ERR_WENXIN_INVALID_FILE");
      expect(err.message).toContain(file);
      expect(err.message).toMatch(/truncated/);
      const again = await rejection(engine.logits(prompt));
      expect(again.code).toBe("ERR_WENXIN_INVALID_FILE");
    } finally {
      await engine.close();
    }
  });
});
