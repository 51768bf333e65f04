// `wenxin pull` against the mocked hub of @wenxin/transformers' tests: files land in the cache,
// the snapshot directory is printed, progress goes to stderr.
import path from "node:path";

import { afterEach, describe, expect, it, vi } from "vitest";

import { progressPrinter, pullCommand } from "../src/commands/pull.js";
import { DENSE_DIR, LORA_DIR } from "../../../test/helpers/fixtures.js";
import { repoFromDirectory, useMockHub, type MockRepo } from "../../transformers/test/hub/mock_hub.js";

let dense: MockRepo;
const ctx = useMockHub((hub) => {
  dense = hub.add(repoFromDirectory("baidu/tiny-ernie45-dense", DENSE_DIR));
  hub.add(repoFromDirectory("someone/lora", LORA_DIR));
});
afterEach(() => vi.restoreAllMocks());

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, "log").mockImplementation((s: string) => void out.push(s));
  vi.spyOn(console, "error").mockImplementation((s: string) => void err.push(s));
  vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  return { out, err };
}

describe("wenxin pull", () => {
  it("downloads a model into the cache and prints its snapshot directory", async () => {
    const { out, err } = capture();
    expect(await pullCommand.run(["baidu/tiny-ernie45-dense"])).toBe(0);
    expect(out).toEqual([path.join(ctx.henv.cacheDir, "models--baidu--tiny-ernie45-dense", "snapshots", dense.commit)]);
    const lines = err.join("").split("\n").filter(Boolean);
    expect(lines.find((l) => l.startsWith("model.safetensors"))).toMatch(/\[#{24}\] 100% 3\.9 MB \/ 3\.9 MB/);
    expect(lines.some((l) => l.startsWith("config.json"))).toBe(true);
  });

  it("fetches an adapter with --adapter into --cache-dir, quietly with --quiet", async () => {
    const { out, err } = capture();
    const cacheDir = path.join(ctx.henv.root, "custom");
    expect(await pullCommand.run(["someone/lora", "--adapter", "--cache-dir", cacheDir, "--quiet"])).toBe(0);
    expect(out[0]!.startsWith(path.join(cacheDir, "models--someone--lora", "snapshots"))).toBe(true);
    expect(err).toEqual([]);
  });

  it("needs exactly one repository id", async () => {
    const { err } = capture();
    expect(await pullCommand.run([])).toBe(1);
    expect(err.join("")).toMatch(/give one repository id/);
  });
});

describe("progressPrinter", () => {
  it("redraws one bar in place on a terminal and ends the line when the file is done", () => {
    const writes: string[] = [];
    const stream = { isTTY: true, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    const print = progressPrinter(stream);
    print({ status: "progress", name: "r", file: "f.bin", loaded: 500, total: 2000, progress: 25 });
    print({ status: "progress", name: "r", file: "f.bin", loaded: 2000, total: 2000, progress: 100 });
    print({ status: "done", name: "r", file: "f.bin" });
    print({ status: "done", name: "r", file: "cached.json" });
    expect(writes[0]).toMatch(/^\rf\.bin +\[#{6}\.{18}\] {2}25% 500 B \/ 2\.0 kB\x1b\[K$/);
    expect(writes.at(-2)).toMatch(/^\rf\.bin +\[#{24}\] 100% 2\.0 kB \/ 2\.0 kB\x1b\[K\n$/);
    expect(writes.at(-1)).toMatch(/^\rcached\.json +\(cached\)\x1b\[K\n$/);
  });
});
