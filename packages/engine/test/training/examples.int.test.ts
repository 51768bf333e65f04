// The fine-tuning example and the chat demo run from a fresh clone (built packages, as a user would):
// the example teaches the tiny model its answer; the demo answers its questions with the shipped adapter.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../examples");
const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-example-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("examples", () => {
  it("finetune: the adapter answers as taught, the base model does not", async () => {
    const model = path.join(examples, "../test/fixtures/ernie45/tiny-ernie45-dense");
    const { stdout } = await run(process.execPath, [path.join(examples, "finetune", "index.mjs"), model, tmp], {
      timeout: 120_000,
    });
    expect(stdout).toMatch(/step 30: loss 0\.0\d+/);
    expect(stdout).toContain('with the adapter: "I am ERNIE, fine-tuned in Node.js."');
    expect(stdout).not.toMatch(/base model +: "I am ERNIE/);
  });

  it("chat (pnpm demo): the tiny model answers the demo's questions with its adapter", async () => {
    const { stdout } = await run(process.execPath, [path.join(examples, "chat", "index.mjs")], { timeout: 120_000 });
    const data = readFileSync(path.join(examples, "chat", "finetune.jsonl"), "utf8")
      .trim()
      .split("\n");
    const answers = JSON.parse(data.at(-1)!).messages.filter((m: { role: string }) => m.role === "assistant");
    for (const a of answers) expect(stdout).toContain(`Assistant: ${a.content}\n`);
    expect(stdout).toContain("finish: stop");
  });
});
