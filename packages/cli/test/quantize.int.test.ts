// `wenxin quantize` as a real process: the copy it writes loads to the logits of quantizing at load;
// a format it does not make fails naming --to before anything is read.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { afterAll, describe, expect, it } from "vitest";

import { Engine } from "@wenxin/engine";

import { DENSE_DIR, loadGolden } from "../../../test/helpers/fixtures.js";

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/index.js");
const run = promisify(execFile);
const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-quantize-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("wenxin quantize", () => {
  it("writes a q4 copy that loads to the logits of quantizing at load", async () => {
    const out = path.join(tmp, "q4");
    const { stdout } = await run("node", [CLI, "quantize", DENSE_DIR, "--to", "q4", "--out", out, "--threads", "2"]);
    expect(stdout).toMatch(/^wrote .*q4 \(q4\) in \d+\.\d s$/m);
    const ids = loadGolden("tiny-ernie45-dense").json.prompts.chat!.input_ids;
    const atLoad = await Engine.load(DENSE_DIR, { weights: "q4", threads: 2 });
    const saved = await Engine.load(out, { threads: 2 });
    try {
      expect(Array.from(await saved.logits(ids))).toEqual(Array.from(await atLoad.logits(ids)));
    } finally {
      await atLoad.close();
      await saved.close();
    }
  });

  it("fails on a format it does not make, naming --to and the choices", async () => {
    await expect(
      run("node", [CLI, "quantize", path.join(tmp, "missing"), "--to", "q3", "--out", path.join(tmp, "x")]),
    ).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/--to: .*"q8"\|"q4"\|"fp8"/) });
  });
});
