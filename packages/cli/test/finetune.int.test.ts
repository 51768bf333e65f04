// `wenxin finetune` end to end in a child process: it retrains the demo's adapter from its data and
// the tiny model then gives the demo's answers (as the shipped adapter does); a bad line fails
// naming it, a bad choice of flag names the flag; Ctrl-C saves a checkpoint that --resume finishes from.
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { afterAll, describe, expect, it } from "vitest";

import { Engine } from "@wenxin/engine";

import { converse } from "../../../examples/chat/conversation.mjs";
import { ADAPTER, CLI, FINETUNE_ARGS, TINY_MODEL } from "../../../examples/chat/train-adapter.mjs";

const run = promisify(execFile);
const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-finetune-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const data = readFileSync(path.join(path.dirname(ADAPTER), "finetune.jsonl"), "utf8");
/** The demo's expected replies: the assistant turns of its longest conversation. */
const answers = (JSON.parse(data.trim().split("\n").at(-1)!).messages as { role: string; content: string }[])
  .filter((m) => m.role === "assistant")
  .map((m) => m.content);

async function demoAnswers(adapterDir: string): Promise<string[]> {
  const engine = await Engine.load(TINY_MODEL, { threads: 2 });
  try {
    await engine.loadAdapter("demo", adapterDir);
    return (await converse(engine, { adapter: "demo" })).map((r) => r.text);
  } finally {
    await engine.close();
  }
}

describe("wenxin finetune", () => {
  it("retrains the demo's adapter from its data, and the tiny model gives the demo's answers", async () => {
    const out = path.join(tmp, "demo");
    // --activation-memory 0 recomputes every layer in the backward: the same gradients, the same adapter.
    const { stdout } = await run("node", [CLI, ...FINETUNE_ARGS, "--out", out, "--activation-memory", "0"]);
    expect(stdout).toMatch(/2 examples, \d+ tokens/);
    expect(stdout).toMatch(/step 30\/30 +epoch 30\.00 +loss \d\.\d{4} +lr [\d.e+-]+ +\d+ tok\/s +ETA 0s/);
    expect(existsSync(path.join(out, "adapter_model.safetensors"))).toBe(true);
    expect(existsSync(path.join(out, "checkpoint-30"))).toBe(false); // --save-total-limit 0
    expect(await demoAnswers(out)).toEqual(answers);
    expect(await demoAnswers(ADAPTER)).toEqual(answers); // the shipped one
  });

  it("fails on a bad line of the data, naming the file and line", async () => {
    const bad = path.join(tmp, "bad.jsonl");
    writeFileSync(bad, `${data.split("\n")[0]}\n\n{"messages": [{"role": "user", "content": 1}]}\n`);
    await expect(
      run("node", [CLI, "finetune", "--model", TINY_MODEL, "--data", bad, "--out", path.join(tmp, "x")]),
    ).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/bad\.jsonl:3: 'messages\.0\.content'/) });
  });

  it("rejects an unknown --compute-dtype, --schedule or --weights by name before loading the model", async () => {
    const args = [CLI, "finetune", "--model", path.join(tmp, "no-model"), "--data", "x.jsonl", "--out", tmp];
    for (const [flag, value, expected] of [
      ["--compute-dtype", "fp16", /--compute-dtype: .*"float32"\|"bf16"/],
      ["--schedule", "cosin", /--schedule: .*"constant"\|"linear"\|"cosine"/],
      ["--weights", "q3", /--weights: .*"bf16"\|"q8"\|"q4"/],
    ] as const)
      await expect(run("node", [...args, flag, value])).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringMatching(expected),
      });
  });

  it("Ctrl-C saves a checkpoint and --resume finishes the run from it", async () => {
    const out = path.join(tmp, "interrupted");
    const args = [CLI, "finetune", "--model", TINY_MODEL, "--data", path.join(path.dirname(ADAPTER), "finetune.jsonl")];
    const child = spawn("node", [...args, "--out", out, "--epochs", "200", "--batch", "1", "--threads", "1"]);
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString("utf8");
      if (/step 2\//.test(stdout) && child.exitCode === null && !child.killed) child.kill("SIGINT");
    });
    const code = await new Promise((resolve) => child.on("exit", (c) => resolve(c)));
    expect(code).toBe(130);
    const step = Number(/interrupted at step (\d+)/.exec(stdout)![1]);
    expect(existsSync(path.join(out, `checkpoint-${step}`, "optimizer.safetensors"))).toBe(true);
    const resumed = await run("node", [...args, "--out", out, "--epochs", "5", "--batch", "1", "--resume"]).catch(
      (e: { stdout: string }) => e,
    );
    // The interrupted run was set for 200 epochs; resumed with 5 (10 steps), it continues from its step.
    expect(resumed.stdout).toContain(`resuming from ${path.join(out, `checkpoint-${step}`)}`);
    expect(resumed.stdout).toMatch(/adapter saved to .* \(10 steps\)/);
  });
});
