// `wenxin serve` as a real process: it comes up on loopback, serves, and on SIGTERM lets the
// request in flight finish before it exits with status 0.
import { spawn, execFile, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { afterEach, describe, expect, it } from "vitest";

import { DENSE_DIR } from "../../../test/helpers/fixtures.js";

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/index.js");
const run = promisify(execFile);

interface Served {
  child: ChildProcessWithoutNullStreams;
  url: string;
  logs: Record<string, any>[];
  /** What it wrote to stderr (the progress line of the model load). */
  stderr: () => string;
  exit: Promise<number | null>;
}

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

/** Starts `wenxin serve` and resolves once its log says the model is loaded. */
function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn("node", [CLI, "serve", "--port", "0", "--threads", "1", ...args], {
    env: { ...process.env, ...env },
  });
  children.push(child);
  const logs: Record<string, any>[] = [];
  let stderr = "";
  child.stderr.on("data", (data: Buffer) => (stderr += data.toString("utf8")));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffered = "";
    let url: string | undefined;
    child.stdout.on("data", (data: Buffer) => {
      buffered += data.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        const entry = JSON.parse(line);
        logs.push(entry);
        url ??= /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(entry.msg)?.[1];
        if (entry.msg === "model loaded" && url) resolve({ child, url, logs, stderr: () => stderr, exit });
      }
    });
    void exit.then((code) => reject(new Error(`wenxin serve exited with ${code} before the model loaded`)));
  });
}

describe("wenxin serve", () => {
  it("serves on loopback and drains on SIGTERM", async () => {
    const s = await serve(["--model", DENSE_DIR, "--model-name", "tiny"]);
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // Piped, the load's progress line is one line when it starts and one when it ends.
    await expect
      .poll(s.stderr)
      .toMatch(new RegExp(`^loading ${DENSE_DIR}\\.\\.\\.\\nloading ${DENSE_DIR}: done in \\d+\\.\\d s\\n`));
    const res = await fetch(`${s.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 400,
        temperature: 0,
        stream: true,
      }),
    });
    const reader = res.body!.getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    s.child.kill("SIGTERM");
    await expect.poll(() => s.logs.some((l) => l.msg === "draining"), { timeout: 10_000 }).toBe(true);
    const late = await fetch(`${s.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "x" }], max_tokens: 1 }),
    }).then(
      (r) => r.status,
      () => "closed",
    );
    expect([503, "closed"]).toContain(late);

    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(text).toContain('"finish_reason":"length"');
    expect(await s.exit).toBe(0);
    expect(s.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(["shutting down", "draining", "server stopped"]));
    expect(s.logs.find((l) => l.msg === "server stopped")!.aborted).toBe(0);
  });

  it("drains and exits on SIGTERM while a schema compiles, without waiting for the compile", async () => {
    // 300 properties of ~50,000 grammar elements each: far longer to compile than this test takes,
    // under a 60 s compile limit; the schema is rendered into the prompt, which this context holds
    const s = await serve([
      "--model",
      DENSE_DIR,
      "--model-name",
      "tiny",
      "--max-context",
      "16384",
      "--grammar-timeout",
      "60",
      "--max-grammar-size",
      "1000000000",
      "--drain-timeout",
      "1",
    ]);
    const properties = Object.fromEntries(
      Array.from({ length: 300 }, (_, i) => [
        `p${i}`,
        { type: "string", pattern: `^${String.fromCodePoint(0x4e00 + i)}{0,9999}$` },
      ]),
    );
    const answer = fetch(`${s.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        messages: [{ role: "user", content: "Describe it." }],
        response_format: { type: "json_schema", json_schema: { name: "wide", schema: { type: "object", properties } } },
        max_tokens: 4,
      }),
    }).then(
      (r) => r.status,
      () => "closed",
    );
    // the compile is under way on its worker thread: /health answers, and nothing has come back
    await new Promise((r) => setTimeout(r, 500));
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    const signalled = performance.now();
    s.child.kill("SIGTERM");
    await expect.poll(() => s.logs.some((l) => l.msg === "draining"), { timeout: 5_000 }).toBe(true);
    expect(await s.exit).toBe(0);
    // the compile is stopped when the server closes: the exit does not wait for it (it would take
    // well over 10 s here, within its 60 s limit)
    expect(performance.now() - signalled).toBeLessThan(5_000);
    expect([503, "closed"]).toContain(await answer);
  });

  it("requires the API key given by flag or environment, and applies --body-limit", async () => {
    const s = await serve(["--model", DENSE_DIR, "--api-key", "k1", "--body-limit", "2048"]);
    expect((await fetch(`${s.url}/v1/models`)).status).toBe(401);
    expect((await fetch(`${s.url}/v1/models`, { headers: { authorization: "Bearer k1" } })).status).toBe(200);
    const big = await fetch(`${s.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer k1", "content-type": "application/json" },
      body: JSON.stringify({ model: "x", messages: [{ role: "user", content: "x".repeat(3000) }] }),
    });
    expect(big.status).toBe(413);
    expect((await big.json()).error.code).toBe("request_too_large");
    s.child.kill("SIGINT");
    expect(await s.exit).toBe(0);
    const fromEnv = await serve(["--model", DENSE_DIR], { WENXIN_API_KEY: "k2" });
    expect((await fetch(`${fromEnv.url}/v1/models`, { headers: { authorization: "Bearer k1" } })).status).toBe(401);
    expect((await fetch(`${fromEnv.url}/v1/models`, { headers: { authorization: "Bearer k2" } })).status).toBe(200);
    fromEnv.child.kill("SIGTERM");
    expect(await fromEnv.exit).toBe(0);
  });

  it("exits with 1 when the model cannot load, and on bad options", async () => {
    await expect(run("node", [CLI, "serve", "--model", "/nonexistent", "--port", "0"])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("'/nonexistent' is neither a directory nor a hub repo id"),
    });
    // A directory that is not a checkpoint: the server starts, then says why the model failed to load.
    await expect(run("node", [CLI, "serve", "--model", path.dirname(DENSE_DIR), "--port", "0"])).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringContaining("model failed to load"),
    });
    await expect(run("node", [CLI, "serve"])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("--model DIR is required"),
    });
    await expect(run("node", [CLI, "serve", "--model", DENSE_DIR, "--port", "99999"])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("port"),
    });
    const { stdout } = await run("node", [CLI, "serve", "--help"]);
    expect(stdout).toContain("Usage: wenxin serve --model DIR");
  });
});
