// from_pretrained's file resolution: a local directory as is, or the files a loader needs fetched
// from the (mocked) hub into one snapshot.
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import {
  AutoConfig,
  AutoTokenizer,
  Ernie4_5_MoeConfig,
  MODEL_FILES,
  TOKENIZER_FILES,
  resolvePretrained,
} from "../../src/index.js";
import { DENSE_DIR, MOE_DIR } from "../../../../test/helpers/fixtures.js";
import { CDN, HUB, fakeCommit, repoFromDirectory, useMockHub } from "./mock_hub.js";

const ctx = useMockHub((hub) => {
  hub.add(repoFromDirectory("baidu/tiny-ernie45-dense", DENSE_DIR));
  hub.add(repoFromDirectory("baidu/tiny-ernie45-moe", MOE_DIR));
});

describe("resolvePretrained", () => {
  it("uses a local directory as it is, without the network", async () => {
    const got = await resolvePretrained(DENSE_DIR, MODEL_FILES);
    expect(got).toEqual({ dir: path.resolve(DENSE_DIR), source: "local" });
    expect(ctx.hub.requests).toEqual([]);
  });

  it("fetches a sharded checkpoint: the index and every shard it names, into one snapshot", async () => {
    const repo = ctx.hub.repos.get("baidu/tiny-ernie45-moe")!;
    const got = await resolvePretrained("baidu/tiny-ernie45-moe", MODEL_FILES);
    expect(got).toMatchObject({ source: "hub", repoId: "baidu/tiny-ernie45-moe", commit: repo.commit });
    expect(got.dir).toBe(path.join(ctx.henv.cacheDir, "models--baidu--tiny-ernie45-moe", "snapshots", repo.commit));
    expect(readdirSync(got.dir).sort()).toEqual(
      [
        "config.json",
        "generation_config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
        "tokenizer.json",
        "tokenizer_config.json",
      ].sort(),
    );
  });

  it("pins every file of one load to the commit of the first, even if the branch moves meanwhile", async () => {
    const repo = ctx.hub.repos.get("baidu/tiny-ernie45-dense")!;
    const first = repo.commit;
    repo.refs = { [first]: first }; // the old commit stays reachable by its hash
    ctx.hub.onRequest = () => {
      if (ctx.hub.requests.length > 1) repo.commit = fakeCommit("moved"); // "main" moves once the first request was answered
    };
    const got = await resolvePretrained("baidu/tiny-ernie45-dense", [{ file: "config.json" }, ...TOKENIZER_FILES]);
    expect(got.commit).toBe(first);
    const revisions = ctx.hub
      .requestsTo(HUB, "HEAD")
      .map((r) => decodeURIComponent(new URL(r.url).pathname.split("/")[4]!));
    expect(revisions[0]).toBe("main");
    expect(new Set(revisions.slice(1))).toEqual(new Set([first]));
    expect(existsSync(path.join(got.dir, "tokenizer.json"))).toBe(true);
  });

  it("fetches tokenizer.json and skips tokenizer.model when the first exists", async () => {
    const got = await resolvePretrained("baidu/tiny-ernie45-dense", TOKENIZER_FILES);
    expect(existsSync(path.join(got.dir, "tokenizer.json"))).toBe(true);
    expect(ctx.hub.requests.some((r) => r.url.endsWith("/tokenizer.model"))).toBe(false);
  });

  it("explains a repository without config.json or weights", async () => {
    const repo = ctx.hub.repos.get("baidu/tiny-ernie45-dense")!;
    repo.files.delete("model.safetensors");
    await expect(resolvePretrained("baidu/tiny-ernie45-dense", MODEL_FILES)).rejects.toThrow(/no safetensors weights/);
    repo.files.delete("config.json");
    await expect(resolvePretrained("baidu/tiny-ernie45-dense", MODEL_FILES)).rejects.toMatchObject({
      code: "ERR_WENXIN_FILE_NOT_FOUND",
      message: expect.stringMatching(/no config\.json.*-PT repos/),
    });
  });

  it("rejects a path that does not exist and a string that is not a repo id", async () => {
    await expect(resolvePretrained("./no/such/dir", MODEL_FILES)).rejects.toMatchObject({
      code: "ERR_WENXIN_FILE_NOT_FOUND",
    });
    await expect(resolvePretrained("not a repo id", MODEL_FILES)).rejects.toMatchObject({
      code: "ERR_WENXIN_FILE_NOT_FOUND",
    });
    expect(ctx.hub.requests).toEqual([]);
  });
});

describe("Auto classes from the hub", () => {
  it("AutoConfig and AutoTokenizer fetch only what they need", async () => {
    const config = await AutoConfig.from_pretrained("baidu/tiny-ernie45-moe");
    expect(config).toBeInstanceOf(Ernie4_5_MoeConfig);
    expect(config.moe_num_experts).toBe(8);
    expect(new Set(ctx.hub.requests.map((r) => new URL(r.url).pathname.split("/").pop()))).toEqual(
      new Set(["config.json"]),
    );
    ctx.hub.requests.length = 0;
    const tokenizer = await AutoTokenizer.from_pretrained("baidu/tiny-ernie45-dense");
    expect(tokenizer.encode("Hello world")).toEqual([6025, 386, 340, 336, 296, 363]);
    expect(ctx.hub.requestsTo(CDN)).toEqual([]); // tokenizer.json is a regular file, no weights fetched
  });

  it("works offline from a cache filled earlier", async () => {
    await AutoTokenizer.from_pretrained("baidu/tiny-ernie45-dense");
    ctx.hub.requests.length = 0;
    process.env.HF_HUB_OFFLINE = "1";
    const tokenizer = await AutoTokenizer.from_pretrained("baidu/tiny-ernie45-dense");
    expect(tokenizer.decode([6025, 386, 340, 336, 296, 363])).toBe("Hello world");
    expect(ctx.hub.requests).toEqual([]);
  });
});
