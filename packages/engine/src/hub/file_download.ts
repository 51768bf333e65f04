/**
 * hf_hub_download for Node: resolve one file of a hub repository to a path in the shared cache.
 * Like huggingface_hub: a HEAD on `/<repo>/resolve/<revision>/<file>` gives the commit
 * (`X-Repo-Commit`), the blob's ETag (`X-Linked-Etag` for LFS files) and size; the blob is
 * fetched (from the CDN the hub redirects to) only when no snapshot or blob has it yet.
 * Offline (HF_HUB_OFFLINE, `local_files_only`) or when the hub cannot be reached, the cache answers.
 */
import { mkdir, rename } from "node:fs/promises";
import path from "node:path";

import { WenxinError } from "../errors.js";
import { verifyBlob } from "./blob_digest.js";
import { downloadBlob } from "./blob_download.js";
import { COMMIT_HASH, RepoCache, checkRelative, exists, type CachedEntry } from "./cache_layout.js";
import { HubError, hubErrorFromResponse, type RequestContext } from "./hub_error.js";
import { hubRequest } from "./http.js";
import {
  hubCacheDir,
  hubEndpoint,
  isOfflineMode,
  requestTimeoutMs,
  resolveToken,
  type ProgressCallback,
} from "./settings.js";

export interface HubDownloadOptions {
  /** Branch, tag or commit hash (default "main"). */
  revision?: string;
  /** Cache root instead of HF_HUB_CACHE / $HF_HOME/hub. */
  cache_dir?: string;
  /** Use only the cache, never the network. */
  local_files_only?: boolean;
  /** Hub token; default HF_TOKEN or the stored login. `false` sends none. */
  token?: string | false;
  progress_callback?: ProgressCallback;
  signal?: AbortSignal;
}

/** A resolved file, or the hub's word that it does not exist at that commit. */
export type HubFile = { kind: "file"; path: string; commit: string } | { kind: "missing"; commit: string | undefined };

const USER_AGENT = "wenxin.js/0.1.0; hf_hub-compatible";
const REPO_ID = /^(?:[\w.-]+\/)?[\w.-]+$/;

/** True for strings shaped like a hub repo id ("name" or "org/name"), as huggingface_hub validates them. */
export function isValidRepoId(id: string): boolean {
  return (
    id.length <= 96 &&
    REPO_ID.test(id) &&
    !id.includes("--") &&
    !id.includes("..") &&
    !/^[.-]|[.-]$/.test(id.split("/").pop()!)
  );
}

/** Downloads in flight in this process, by blob path: a second caller waits for the first. */
const inFlight = new Map<string, Promise<void>>();

function normalizeEtag(etag: string | null): string | undefined {
  if (!etag) return undefined;
  return etag.replace(/^W\//, "").replace(/^"|"$/g, "");
}

interface FileMetadata {
  commit: string;
  etag: string;
  size: number | undefined;
  /** Where the bytes are: the resolve URL itself, or the CDN URL the hub redirected to. */
  location: string;
}

function parseMetadata(res: Response, url: string, ctx: RequestContext): FileMetadata {
  const commit = res.headers.get("x-repo-commit") ?? undefined;
  const etag = normalizeEtag(res.headers.get("x-linked-etag") ?? res.headers.get("etag"));
  if (!commit || !COMMIT_HASH.test(commit) || !etag)
    throw new HubError(
      "ERR_WENXIN_NETWORK",
      "inconsistent",
      `${new URL(url).origin} answered for ${ctx.repoId}/${ctx.filename} without X-Repo-Commit and ETag headers: it does not look like a Hugging Face hub (check HF_ENDPOINT and any proxy)`,
      { subject: url },
    );
  const sizeHeader = res.headers.get("x-linked-size") ?? res.headers.get("content-length");
  const size = sizeHeader !== null && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : undefined;
  const redirect = res.status >= 300 && res.status < 400 ? res.headers.get("location") : null;
  // Not redirected: fetch by commit hash, so the bytes match the HEAD even if the branch moves.
  const location = redirect
    ? new URL(redirect, url).href
    : url.replace(`/resolve/${encodeURIComponent(ctx.revision)}/`, `/resolve/${commit}/`);
  return { commit, etag, size, location };
}

function cachedOrThrow(hit: CachedEntry, failure: HubError): HubFile {
  if (hit) return hit;
  throw failure;
}

/**
 * Resolves `filename` of `repoId`: a path under `snapshots/<commit>/`, or `missing` when the hub
 * (or the cache's `.no_exist` record) says the file is not in the repository.
 */
export async function resolveHubFile(
  repoId: string,
  filename: string,
  options: HubDownloadOptions = {},
): Promise<HubFile> {
  if (!isValidRepoId(repoId))
    throw new WenxinError(
      "ERR_WENXIN_INVALID_ARGUMENT",
      `'${repoId}' is not a valid hub repository id (expected 'org/name')`,
      { subject: repoId },
    );
  checkRelative(filename);
  const revision = options.revision ?? "main";
  const cache = new RepoCache(hubCacheDir(options.cache_dir), repoId);
  const progress = options.progress_callback;
  progress?.({ status: "initiate", name: repoId, file: filename });
  const done = (result: HubFile): HubFile => {
    if (result.kind === "file") progress?.({ status: "done", name: repoId, file: filename });
    return result;
  };

  // A commit hash never moves: a cached snapshot needs no network at all.
  if (COMMIT_HASH.test(revision)) {
    const hit = await cache.lookup(revision, filename);
    if (hit) return done(hit);
  }
  if (options.local_files_only || isOfflineMode()) {
    const why = options.local_files_only ? "local_files_only is set" : "offline mode is on (HF_HUB_OFFLINE)";
    return done(
      cachedOrThrow(
        await cache.lookup(revision, filename),
        new HubError(
          "ERR_WENXIN_FILE_NOT_FOUND",
          "not_cached",
          `${why} and ${filename} of ${repoId} (revision '${revision}') is not in the cache at ${cache.root}; download it once online (wenxin pull ${repoId})`,
          { subject: `${repoId}/${filename}` },
        ),
      ),
    );
  }

  const token = await resolveToken(options.token);
  const headers: Record<string, string> = { "user-agent": USER_AGENT };
  if (token) headers.authorization = `Bearer ${token}`;
  const url = `${hubEndpoint()}/${repoId}/resolve/${encodeURIComponent(revision)}/${filename.split("/").map(encodeURIComponent).join("/")}`;
  const ctx: RequestContext = { repoId, revision, filename, url, tokenSent: Boolean(token) };

  let meta: FileMetadata;
  try {
    const { response, url: finalUrl } = await hubRequest({
      method: "HEAD",
      url,
      headers: { ...headers, "accept-encoding": "identity" },
      redirects: "relative",
      timeoutMs: requestTimeoutMs("metadata"),
      signal: options.signal,
    });
    if (response.status >= 400) {
      const err = hubErrorFromResponse(response, ctx);
      if (err.reason !== "entry_not_found") throw err;
      const commit = response.headers.get("x-repo-commit") ?? undefined;
      if (commit && COMMIT_HASH.test(commit)) {
        await cache.writeRef(revision, commit);
        await cache.markMissing(commit, filename);
      }
      return { kind: "missing", commit };
    }
    meta = parseMetadata(response, finalUrl, ctx);
  } catch (err) {
    if (!(err instanceof HubError && err.reason === "network")) throw err;
    // Like huggingface_hub: no connection, but a cached copy of this revision will do.
    const hit = await cache.lookup(revision, filename);
    return done(
      cachedOrThrow(
        hit,
        new HubError(
          "ERR_WENXIN_NETWORK",
          "network",
          `${err.message}, and ${filename} of ${repoId} (revision '${revision}') is not in the cache at ${cache.root}; check the connection, or set HF_ENDPOINT`,
          { subject: `${repoId}/${filename}`, cause: err },
        ),
      ),
    );
  }

  await cache.writeRef(revision, meta.commit);
  const pointer = cache.pointerPath(meta.commit, filename);
  if (await exists(pointer)) return done({ kind: "file", path: pointer, commit: meta.commit });
  const blob = cache.blobPath(meta.etag);
  if (!(await exists(blob))) {
    let pending = inFlight.get(blob);
    if (!pending) {
      pending = fetchBlob(meta, blob, headers, ctx, options).finally(() => inFlight.delete(blob));
      inFlight.set(blob, pending);
    }
    await pending;
  }
  await cache.linkSnapshot(meta.commit, filename, meta.etag);
  return done({ kind: "file", path: pointer, commit: meta.commit });
}

async function fetchBlob(
  meta: FileMetadata,
  blob: string,
  headers: Record<string, string>,
  ctx: RequestContext,
  options: HubDownloadOptions,
): Promise<void> {
  await mkdir(path.dirname(blob), { recursive: true });
  const incomplete = `${blob}.incomplete`;
  const sameHost = new URL(meta.location).origin === new URL(ctx.url).origin;
  const progress = options.progress_callback;
  progress?.({ status: "download", name: ctx.repoId, file: ctx.filename! });
  await downloadBlob({
    url: meta.location,
    // A presigned CDN URL must not receive the hub token.
    headers: sameHost ? headers : { "user-agent": headers["user-agent"]! },
    incompletePath: incomplete,
    expectedSize: meta.size,
    context: ctx,
    signal: options.signal,
    onProgress: progress
      ? (loaded, total) =>
          progress({
            status: "progress",
            name: ctx.repoId,
            file: ctx.filename!,
            loaded,
            total,
            progress: total > 0 ? (100 * loaded) / total : 0,
          })
      : undefined,
  });
  await verifyBlob(incomplete, meta.etag, ctx.filename!);
  await rename(incomplete, blob);
}

/** Path of `filename` in the cache, downloaded if needed; a file missing from the repo is an error. */
export async function hf_hub_download(
  repoId: string,
  filename: string,
  options: HubDownloadOptions = {},
): Promise<string> {
  const file = await resolveHubFile(repoId, filename, options);
  if (file.kind === "file") return file.path;
  throw new HubError(
    "ERR_WENXIN_FILE_NOT_FOUND",
    "entry_not_found",
    `${filename} does not exist in ${repoId} at revision '${options.revision ?? "main"}'`,
    {
      subject: `${repoId}/${filename}`,
    },
  );
}
