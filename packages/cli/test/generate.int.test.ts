// `wenxin generate` end to end: the built CLI in a child process on the tiny model.
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { describe, expect, it } from "vitest";

import { WenxinTokenizer } from "@wenxin/engine";
import { DENSE_DIR, loadGolden } from "../../../test/helpers/fixtures.js";

const run = promisify(execFile);
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/index.js");

describe("wenxin generate", () => {
  it("prints the greedy continuation of a prompt", async () => {
    const golden = loadGolden("tiny-ernie45-dense").json.prompts.plain!;
    const tokenizer = await WenxinTokenizer.fromDirectory(DENSE_DIR);
    const prompt = tokenizer.decode(golden.input_ids);
    expect(tokenizer.encode(prompt)).toEqual(golden.input_ids);
    const { stdout } = await run("node", [
      CLI,
      "generate",
      "--model",
      DENSE_DIR,
      "--prompt",
      prompt,
      "--temperature",
      "0",
      "--max-new-tokens",
      "10",
      "--threads",
      "1",
    ]);
    expect(stdout).toBe(tokenizer.decode(golden.greedy_new_ids.slice(0, 10), { skipSpecialTokens: true }) + "\n");
  });

  it("renders --chat with the template", async () => {
    const { stdout, stderr } = await run("node", [
      CLI,
      "generate",
      "--model",
      DENSE_DIR,
      "--chat",
      "你好",
      "--temperature",
      "0",
      "--max-new-tokens",
      "5",
      "--stats",
    ]);
    expect(stdout.length).toBeGreaterThan(1);
    expect(stderr).toMatch(/prompt \+ 5 generated tokens/);
  });

  it("fails with a clear message and exit code 1 on a bad model path", async () => {
    await expect(run("node", [CLI, "generate", "--model", "/nonexistent", "--prompt", "x"])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("ERR_WENXIN_FILE_NOT_FOUND"),
    });
  });

  it("rejects unknown options", async () => {
    await expect(run("node", [CLI, "generate", "--bogus"])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("bogus"),
    });
  });
});
