// `wenxin --version` (and `-v`) as a real process: the CLI's version and Node's, as `ollama --version` prints its own.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { describe, expect, it } from "vitest";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(HERE, "../dist/index.js");
const run = promisify(execFile);

describe("wenxin --version", () => {
  it.each(["--version", "-v"])("%s prints the package's version and exits 0", async (flag) => {
    const { version } = JSON.parse(readFileSync(path.resolve(HERE, "../package.json"), "utf8")) as { version: string };
    const { stdout } = await run("node", [CLI, flag]);
    expect(stdout.trim()).toBe(`wenxin ${version} (node ${process.versions.node})`);
  });
});
