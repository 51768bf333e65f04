// Commands take a hub id wherever they take a model: it is pulled into the HF cache (from the
// mocked hub of @wenxin/transformers' tests), with progress, then used as a directory.
import path from "node:path";

import { afterEach, describe, expect, it, vi } from "vitest";

import { generateCommand } from "../src/commands/generate.js";
import { resolveModelSource } from "../src/commands/model_source.js";
import { DENSE_DIR } from "../../../test/helpers/fixtures.js";
import { repoFromDirectory, useMockHub, type MockRepo } from "../../transformers/test/hub/mock_hub.js";

let dense: MockRepo;
const ctx = useMockHub((hub) => {
  dense = hub.add(repoFromDirectory("baidu/tiny-ernie45-dense", DENSE_DIR));
});
afterEach(() => vi.restoreAllMocks());

describe("a hub id as the model", () => {
  it("is pulled into the cache with progress, once, and named by its id", async () => {
    const progress: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => (progress.push(String(s)), true));
    const source = await resolveModelSource("baidu/tiny-ernie45-dense");
    expect(source).toEqual({
      path: path.join(ctx.henv.cacheDir, "models--baidu--tiny-ernie45-dense", "snapshots", dense.commit),
      repoId: "baidu/tiny-ernie45-dense",
    });
    expect(progress.join("")).toMatch(/model\.safetensors +\[#{24}\] 100%/);
    const requests = ctx.hub.requests.length;
    expect((await resolveModelSource("baidu/tiny-ernie45-dense", { quiet: true })).path).toBe(source.path);
    expect(ctx.hub.requests.slice(requests).every((r) => r.method === "HEAD")).toBe(true); // no download again
  });

  it("works with wenxin generate", async () => {
    const out: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
    const code = await generateCommand.run([
      "--model",
      "baidu/tiny-ernie45-dense",
      "--prompt",
      "hello",
      "--max-new-tokens",
      "3",
      "--temperature",
      "0",
      "--threads",
      "1",
    ]);
    expect(code).toBe(0);
    expect(out.join("").length).toBeGreaterThan(1);
  });

  it("keeps a path on disk as it is, and names what is neither", async () => {
    expect(await resolveModelSource(DENSE_DIR)).toEqual({ path: DENSE_DIR });
    await expect(resolveModelSource("./no/such/dir")).rejects.toMatchObject({ code: "ERR_WENXIN_FILE_NOT_FOUND" });
  });
});
