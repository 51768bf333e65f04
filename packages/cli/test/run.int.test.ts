// `wenxin run` with its input piped: each reply is the engine's own greedy answer to the
// conversation so far, and /reset forgets it.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine, type ChatMessage } from "@wenxin/engine";

import { DENSE_DIR } from "../../../test/helpers/fixtures.js";

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/index.js");

function chat(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn("node", [CLI, "run", DENSE_DIR, "--threads", "1", ...args]);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  child.stdin.end(input);
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
}

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load(DENSE_DIR, { threads: 1 });
});
afterAll(async () => {
  await engine?.close();
});

const reply = async (messages: ChatMessage[], seed: number) =>
  (await engine.generate({ messages, temperature: 0.8, topP: 0.9, doSample: true, seed, maxNewTokens: 6 }).result())
    .text;

describe("wenxin run", () => {
  it("keeps the conversation as history, and /reset forgets it", async () => {
    const system: ChatMessage = { role: "system", content: "Be brief." };
    const args = [
      "--system",
      "Be brief.",
      "--temperature",
      "0.8",
      "--top-p",
      "0.9",
      "--seed",
      "5",
      "--max-new-tokens",
      "6",
    ];
    const { code, stdout, stderr } = await chat(args, "你好\n\n再说一遍\n/reset\n你好\n/exit\nnever read\n");
    expect(code).toBe(0);

    const first = await reply([system, { role: "user", content: "你好" }], 5);
    const second = await reply(
      [
        system,
        { role: "user", content: "你好" },
        { role: "assistant", content: first },
        { role: "user", content: "再说一遍" },
      ],
      5,
    );
    expect(stdout).toBe(`${first}\n${second}\n${first}\n`);
    expect(stderr).toContain("(conversation cleared)");
    expect(stderr).toContain("(reply cut at 6 tokens)");
  });

  it("ends at end of input and explains its commands", async () => {
    const { code, stdout, stderr } = await chat(["--max-new-tokens", "2"], "/help\n/nonsense\n");
    expect(code).toBe(0);
    expect(stdout).toBe("");
    expect(stderr).toContain("/reset forgets the conversation");
    expect(stderr).toContain("unknown command /nonsense");
  });

  it("prints its usage and refuses a missing model directory", async () => {
    const help = await chat(["--help"], "");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: wenxin run DIR");
    const missing = spawn("node", [CLI, "run"]);
    let stderr = "";
    missing.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    expect(await new Promise((r) => missing.on("exit", r))).toBe(1);
    expect(stderr).toContain("give the model directory");
  });
});
