// hf_hub_download against an msw mock of the hub: the cache layout Python's huggingface_hub uses,
// LFS redirects, Range resume, offline mode and the hub's error answers.
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync, existsSync, symlinkSync } from "node:fs";
import path from "node:path";

import { scanCacheDir } from "@huggingface/hub";
import { describe, expect, it } from "vitest";

import { HubError, env, hf_hub_download, type ProgressInfo } from "../../src/index.js";
import { resolveHubFile } from "@wenxin/engine/internal";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";
import { CDN, HUB, fakeCommit, repoFromDirectory, type MockRepo, useMockHub } from "./mock_hub.js";

let repo: MockRepo;
const REPO = "baidu/tiny-ernie45-dense";

const ctx = useMockHub((hub) => {
  repo = hub.add(repoFromDirectory(REPO, DENSE_DIR));
});

const repoRoot = () => path.join(ctx.henv.cacheDir, "models--baidu--tiny-ernie45-dense");

async function expectHubError(p: Promise<unknown>, code: string, reason: string, message?: RegExp): Promise<HubError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HubError);
  const e = err as HubError;
  expect(e.code).toBe(code);
  expect(e.reason).toBe(reason);
  if (message) expect(e.message).toMatch(message);
  return e;
}

describe("cache layout", () => {
  it("writes blobs/<etag>, refs/main and a relative snapshot symlink, as huggingface_hub does", async () => {
    const file = await hf_hub_download(REPO, "config.json");
    const entry = repo.files.get("config.json")!;
    expect(file).toBe(path.join(repoRoot(), "snapshots", repo.commit, "config.json"));
    expect(readFileSync(path.join(repoRoot(), "refs", "main"), "utf8")).toBe(repo.commit);
    expect(lstatSync(file).isSymbolicLink()).toBe(true);
    expect(readlinkSync(file)).toBe(path.join("..", "..", "blobs", entry.etag));
    expect(readFileSync(path.join(repoRoot(), "blobs", entry.etag))).toEqual(entry.content);
  });

  it("is read back by @huggingface/hub's scanner of the Python cache", async () => {
    await hf_hub_download(REPO, "config.json");
    await hf_hub_download(REPO, "model.safetensors");
    const info = await scanCacheDir(ctx.henv.cacheDir);
    expect(info.warnings).toEqual([]);
    const cached = info.repos.find((r) => r.id.name === REPO)!;
    expect(cached.id.type).toBe("model");
    expect(cached.revisions).toHaveLength(1);
    expect(cached.revisions[0]!.commitOid).toBe(repo.commit);
    expect(cached.revisions[0]!.refs).toEqual(["main"]);
    expect(cached.revisions[0]!.files.map((f) => f.path.split(path.sep).pop()).sort()).toEqual([
      "config.json",
      "model.safetensors",
    ]);
    expect(cached.size).toBe(
      repo.files.get("config.json")!.content.length + repo.files.get("model.safetensors")!.content.length,
    );
  });

  it("uses the default cache under $HF_HOME/hub, and HF_HUB_CACHE when set", async () => {
    expect(existsSync(path.join(ctx.henv.root, "hub"))).toBe(false);
    await hf_hub_download(REPO, "config.json");
    expect(existsSync(path.join(ctx.henv.root, "hub", "models--baidu--tiny-ernie45-dense", "refs", "main"))).toBe(true);
    process.env.HF_HUB_CACHE = path.join(ctx.henv.root, "elsewhere");
    const file = await hf_hub_download(REPO, "config.json");
    expect(file.startsWith(path.join(ctx.henv.root, "elsewhere", "models--baidu--tiny-ernie45-dense"))).toBe(true);
  });

  it("reads a cache written by Python (refs + snapshots) offline", async () => {
    const root = repoRoot();
    const commit = fakeCommit("python");
    const content = Buffer.from('{"written_by":"python"}');
    const etag = createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
    mkdirSync(path.join(root, "blobs"), { recursive: true });
    mkdirSync(path.join(root, "refs"), { recursive: true });
    mkdirSync(path.join(root, "snapshots", commit), { recursive: true });
    writeFileSync(path.join(root, "blobs", etag), content);
    writeFileSync(path.join(root, "refs", "main"), commit);
    symlinkSync(path.join("..", "..", "blobs", etag), path.join(root, "snapshots", commit, "extra.json"));
    process.env.HF_HUB_OFFLINE = "1";
    const file = await hf_hub_download(REPO, "extra.json");
    expect(readFileSync(file, "utf8")).toBe('{"written_by":"python"}');
    expect(ctx.hub.requests).toEqual([]);
  });

  it("nests refs of a revision with slashes and encodes it in the URL", async () => {
    repo.refs = { "refs/pr/1": fakeCommit("pr1") };
    await hf_hub_download(REPO, "config.json", { revision: "refs/pr/1" });
    expect(ctx.hub.requests[0]!.url).toBe(`${HUB}/${REPO}/resolve/refs%2Fpr%2F1/config.json`);
    expect(readFileSync(path.join(repoRoot(), "refs", "refs", "pr", "1"), "utf8")).toBe(fakeCommit("pr1"));
  });
});

describe("downloads", () => {
  it("reads LFS metadata from the redirect without following it, then fetches the CDN without the token", async () => {
    process.env.HF_TOKEN = "hf_secret";
    const file = await hf_hub_download(REPO, "model.safetensors");
    const entry = repo.files.get("model.safetensors")!;
    expect(readFileSync(file).equals(entry.content)).toBe(true); // (toEqual on megabytes is slow)
    expect(lstatSync(path.join(repoRoot(), "blobs", entry.etag)).size).toBe(entry.content.length); // named by X-Linked-Etag (sha256)
    expect(ctx.hub.requestsTo(HUB).map((r) => r.method)).toEqual(["HEAD"]);
    expect(ctx.hub.requestsTo(HUB)[0]!.authorization).toBe("Bearer hf_secret");
    expect(ctx.hub.requestsTo(CDN).map((r) => [r.method, r.authorization])).toEqual([["GET", null]]);
  });

  it("needs only a HEAD once the file is cached, and nothing at all for a cached commit hash", async () => {
    await hf_hub_download(REPO, "model.safetensors");
    ctx.hub.requests.length = 0;
    await hf_hub_download(REPO, "model.safetensors");
    expect(ctx.hub.requests.map((r) => r.method)).toEqual(["HEAD"]);
    ctx.hub.requests.length = 0;
    await hf_hub_download(REPO, "model.safetensors", { revision: repo.commit });
    expect(ctx.hub.requests).toEqual([]);
  });

  it("links a new snapshot to a blob it already has instead of downloading it again", async () => {
    await hf_hub_download(REPO, "model.safetensors");
    const old = repo.commit;
    repo.commit = fakeCommit("next commit");
    ctx.hub.requests.length = 0;
    const file = await hf_hub_download(REPO, "model.safetensors");
    expect(file).toContain(repo.commit);
    expect(ctx.hub.requestsTo(CDN)).toEqual([]);
    expect(readFileSync(path.join(repoRoot(), "refs", "main"), "utf8")).toBe(repo.commit);
    expect(existsSync(path.join(repoRoot(), "snapshots", old, "model.safetensors"))).toBe(true);
  });

  it("resumes an .incomplete blob left by an interrupted run with a Range request", async () => {
    const entry = repo.files.get("model.safetensors")!;
    const blobs = path.join(repoRoot(), "blobs");
    mkdirSync(blobs, { recursive: true });
    const have = 1_000_000;
    writeFileSync(path.join(blobs, `${entry.etag}.incomplete`), entry.content.subarray(0, have));
    const file = await hf_hub_download(REPO, "model.safetensors");
    expect(ctx.hub.requestsTo(CDN).map((r) => r.range)).toEqual([`bytes=${have}-`]);
    expect(readFileSync(file).equals(entry.content)).toBe(true);
    expect(existsSync(path.join(blobs, `${entry.etag}.incomplete`))).toBe(false);
  });

  it("resumes after the connection drops mid-file", async () => {
    ctx.hub.dropAfterBytes = [500_000, 1_200_000];
    const entry = repo.files.get("model.safetensors")!;
    const file = await hf_hub_download(REPO, "model.safetensors");
    expect(ctx.hub.requestsTo(CDN).map((r) => r.range)).toEqual([null, "bytes=500000-", "bytes=1700000-"]);
    expect(readFileSync(file).equals(entry.content)).toBe(true);
  });

  it("gives up on a stalled connection after HF_HUB_DOWNLOAD_TIMEOUT and resumes", async () => {
    process.env.HF_HUB_DOWNLOAD_TIMEOUT = "0.2";
    ctx.hub.stallAfterBytes = [700_000];
    const entry = repo.files.get("model.safetensors")!;
    const file = await hf_hub_download(REPO, "model.safetensors");
    expect(ctx.hub.requestsTo(CDN).map((r) => r.range)).toEqual([null, "bytes=700000-"]);
    expect(readFileSync(file).equals(entry.content)).toBe(true);
  });

  it("starts over when the server ignores the Range header", async () => {
    ctx.hub.ignoreRange = true;
    const entry = repo.files.get("model.safetensors")!;
    mkdirSync(path.join(repoRoot(), "blobs"), { recursive: true });
    writeFileSync(path.join(repoRoot(), "blobs", `${entry.etag}.incomplete`), entry.content.subarray(0, 12345));
    const file = await hf_hub_download(REPO, "model.safetensors");
    expect(readFileSync(file).equals(entry.content)).toBe(true);
  });

  it("follows the relative redirect of a renamed repository", async () => {
    ctx.hub.renamed.set("baidu/old-name", REPO);
    const file = await hf_hub_download("baidu/old-name", "config.json");
    expect(readFileSync(file)).toEqual(repo.files.get("config.json")!.content);
    expect(ctx.hub.requestsTo(HUB, "HEAD").map((r) => new URL(r.url).pathname)).toEqual([
      `/baidu/old-name/resolve/main/config.json`,
      `/${REPO}/resolve/main/config.json`,
    ]);
  });

  it("reports progress: initiate, download, progress up to the size, done", async () => {
    const events: ProgressInfo[] = [];
    await hf_hub_download(REPO, "model.safetensors", { progress_callback: (e) => events.push(e) });
    const size = repo.files.get("model.safetensors")!.content.length;
    expect(events[0]).toEqual({ status: "initiate", name: REPO, file: "model.safetensors" });
    expect(events[1]).toEqual({ status: "download", name: REPO, file: "model.safetensors" });
    const progress = events.filter((e) => e.status === "progress") as Extract<ProgressInfo, { status: "progress" }>[];
    expect(progress.at(-1)).toMatchObject({ loaded: size, total: size, progress: 100 });
    expect(progress.every((p, i) => i === 0 || p.loaded >= progress[i - 1]!.loaded)).toBe(true);
    expect(events.at(-1)).toEqual({ status: "done", name: REPO, file: "model.safetensors" });
  });

  it("downloads a blob once when two calls ask for it at the same time", async () => {
    const [a, b] = await Promise.all([
      hf_hub_download(REPO, "model.safetensors"),
      hf_hub_download(REPO, "model.safetensors"),
    ]);
    expect(a).toBe(b);
    expect(ctx.hub.requestsTo(CDN)).toHaveLength(1);
  });
});

describe("offline and errors", () => {
  it("serves the cache without any request when HF_HUB_OFFLINE=1, and names what is missing", async () => {
    await hf_hub_download(REPO, "config.json");
    ctx.hub.requests.length = 0;
    process.env.HF_HUB_OFFLINE = "1";
    expect(readFileSync(await hf_hub_download(REPO, "config.json"))).toEqual(repo.files.get("config.json")!.content);
    await expectHubError(
      hf_hub_download(REPO, "tokenizer.json"),
      "ERR_WENXIN_FILE_NOT_FOUND",
      "not_cached",
      /HF_HUB_OFFLINE.*tokenizer\.json/,
    );
    expect(ctx.hub.requests).toEqual([]);
  });

  it("honours local_files_only and env.allowRemoteModels = false", async () => {
    await expectHubError(
      hf_hub_download(REPO, "config.json", { local_files_only: true }),
      "ERR_WENXIN_FILE_NOT_FOUND",
      "not_cached",
      /local_files_only/,
    );
    env.allowRemoteModels = false;
    try {
      await expectHubError(hf_hub_download(REPO, "config.json"), "ERR_WENXIN_FILE_NOT_FOUND", "not_cached");
    } finally {
      env.allowRemoteModels = true;
    }
    expect(ctx.hub.requests).toEqual([]);
  });

  it("falls back to the cached revision when the hub cannot be reached, and says so when nothing is cached", async () => {
    await hf_hub_download(REPO, "config.json");
    ctx.hub.down = true;
    expect(readFileSync(await hf_hub_download(REPO, "config.json"))).toEqual(repo.files.get("config.json")!.content);
    await expectHubError(
      hf_hub_download(REPO, "tokenizer.json"),
      "ERR_WENXIN_NETWORK",
      "network",
      /cannot reach https:\/\/huggingface\.co.*not in the cache/,
    );
  });

  it("a hub that does not answer in HF_HUB_ETAG_TIMEOUT seconds is ERR_WENXIN_NETWORK (timed out)", async () => {
    process.env.HF_HUB_ETAG_TIMEOUT = "0.1";
    ctx.hub.headDelayMs = 1000;
    await expectHubError(
      hf_hub_download(REPO, "config.json"),
      "ERR_WENXIN_NETWORK",
      "network",
      /cannot reach https:\/\/huggingface\.co \(timed out\)/,
    );
  });

  it("a missing repository is ERR_WENXIN_FILE_NOT_FOUND that mentions HF_TOKEN for private repos", async () => {
    await expectHubError(
      hf_hub_download("baidu/nope", "config.json"),
      "ERR_WENXIN_FILE_NOT_FOUND",
      "repo_not_found",
      /'baidu\/nope' was not found.*HF_TOKEN/,
    );
  });

  it("a gated repository without access is ERR_WENXIN_HUB_UNAUTHORIZED; HF_TOKEN opens it", async () => {
    repo.gated = true;
    const e = await expectHubError(
      hf_hub_download(REPO, "config.json"),
      "ERR_WENXIN_HUB_UNAUTHORIZED",
      "gated",
      /gated repository.*HF_TOKEN/,
    );
    expect(e.status).toBe(401);
    await expectHubError(
      hf_hub_download(REPO, "config.json", { token: "hf_wrong" }),
      "ERR_WENXIN_HUB_UNAUTHORIZED",
      "gated",
      /does not have access/,
    );
    process.env.HF_TOKEN = ctx.hub.validToken;
    expect(readFileSync(await hf_hub_download(REPO, "config.json"))).toEqual(repo.files.get("config.json")!.content);
  });

  it("reads the token saved by `huggingface-cli login` ($HF_HOME/token)", async () => {
    repo.gated = true;
    writeFileSync(path.join(ctx.henv.root, "token"), `${ctx.hub.validToken}\n`);
    await hf_hub_download(REPO, "config.json");
    expect(ctx.hub.requestsTo(HUB)[0]!.authorization).toBe(`Bearer ${ctx.hub.validToken}`);
  });

  it("a missing file is recorded in .no_exist, so offline runs know it is absent", async () => {
    const first = await resolveHubFile(REPO, "chat_template.jinja");
    expect(first).toEqual({ kind: "missing", commit: repo.commit });
    expect(existsSync(path.join(repoRoot(), ".no_exist", repo.commit, "chat_template.jinja"))).toBe(true);
    await expectHubError(hf_hub_download(REPO, "chat_template.jinja"), "ERR_WENXIN_FILE_NOT_FOUND", "entry_not_found");
    process.env.HF_HUB_OFFLINE = "1";
    ctx.hub.requests.length = 0;
    expect(await resolveHubFile(REPO, "chat_template.jinja")).toEqual({ kind: "missing", commit: repo.commit });
    expect(ctx.hub.requests).toEqual([]);
  });

  it("an unknown revision is named", async () => {
    await expectHubError(
      hf_hub_download(REPO, "config.json", { revision: "v9" }),
      "ERR_WENXIN_FILE_NOT_FOUND",
      "revision_not_found",
      /revision 'v9'/,
    );
  });

  it("a server that is not a hub (no X-Repo-Commit) is reported, not cached", async () => {
    ctx.hub.stripCommitHeader = true;
    await expectHubError(
      hf_hub_download(REPO, "config.json"),
      "ERR_WENXIN_NETWORK",
      "inconsistent",
      /does not look like a Hugging Face hub/,
    );
    expect(existsSync(repoRoot())).toBe(false);
  });

  it("rejects repo ids and file names that would leave the cache", async () => {
    await expect(hf_hub_download("../etc", "config.json")).rejects.toMatchObject({
      code: "ERR_WENXIN_INVALID_ARGUMENT",
    });
    await expect(hf_hub_download(REPO, "../../x")).rejects.toMatchObject({ code: "ERR_WENXIN_INVALID_ARGUMENT" });
  });

  it.each([".", ".."])("refuses the ETag %j, which would name a folder of the cache", async (etag) => {
    repo.files.get("config.json")!.etag = etag;
    await expect(hf_hub_download(REPO, "config.json")).rejects.toMatchObject({
      code: "ERR_WENXIN_INVALID_FILE",
      message: expect.stringContaining("unusable ETag"),
    });
    expect(existsSync(path.join(repoRoot(), "snapshots", repo.commit, "config.json"))).toBe(false);
  });

  it.each([
    ["an LFS file against its sha256", "model.safetensors", "sha256"],
    ["a small file against its git blob sha1", "config.json", "git sha1"],
  ])("checks %s, and keeps nothing that does not match", async (_what, file, digest) => {
    const entry = repo.files.get(file)!;
    const good = entry.content;
    // Same size, one byte changed: only the digest can tell.
    entry.content = Buffer.from(good);
    entry.content[entry.content.length >> 1]! ^= 0xff;
    await expect(hf_hub_download(REPO, file)).rejects.toMatchObject({
      code: "ERR_WENXIN_INVALID_FILE",
      reason: "inconsistent",
      message: expect.stringContaining(`does not match its ${digest} ${entry.etag}`),
    });
    const blobs = path.join(repoRoot(), "blobs");
    expect(existsSync(path.join(blobs, entry.etag))).toBe(false);
    expect(existsSync(path.join(blobs, `${entry.etag}.incomplete`))).toBe(false);
    // The hub serves the right bytes again: the download succeeds.
    entry.content = good;
    expect(readFileSync(await hf_hub_download(REPO, file)).equals(good)).toBe(true); // (toEqual walks MBs byte by byte)
  });
});
