/**
 * Turns `from_pretrained(idOrPath)` into a directory: a local checkpoint directory as is, or the
 * snapshot folder of a hub repository after fetching the files a loader needs. Every file of one
 * call comes from the same commit (the first file's), as transformers pins `_commit_hash`.
 */
import { stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { WenxinError } from "../errors.js";
import { readJsonFile } from "../json_file.js";
import { indexShards } from "../model/weights.js";

import { RepoCache } from "./cache_layout.js";
import { isValidRepoId, resolveHubFile, type HubDownloadOptions } from "./file_download.js";
import { env, hubCacheDir } from "./settings.js";

/** Files a loader asks for: required, optional, or one of several alternatives. */
export type FileRequest =
  | { file: string; optional?: boolean }
  /** The first of `files` that exists is fetched; one must. */
  | { anyOf: string[]; why: string }
  /** model.safetensors, or model.safetensors.index.json and every shard it names. */
  | { weights: true };

export const CONFIG_FILES: FileRequest[] = [{ file: "config.json" }];
export const GENERATION_FILES: FileRequest[] = [{ file: "generation_config.json", optional: true }];
export const TOKENIZER_FILES: FileRequest[] = [
  { file: "tokenizer_config.json", optional: true },
  { file: "special_tokens_map.json", optional: true },
  { file: "added_tokens.json", optional: true },
  { file: "chat_template.jinja", optional: true },
  { file: "chat_template.json", optional: true },
  { anyOf: ["tokenizer.json", "tokenizer.model"], why: "a tokenizer" },
];
export const MODEL_FILES: FileRequest[] = [...CONFIG_FILES, ...GENERATION_FILES, ...TOKENIZER_FILES, { weights: true }];
export const ADAPTER_FILES: FileRequest[] = [{ file: "adapter_config.json" }, { file: "adapter_model.safetensors" }];

export interface ResolvedLocation {
  dir: string;
  source: "local" | "hub";
  /** Hub repo id and the commit its files came from. */
  repoId?: string;
  commit?: string;
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Fetches the files of `requests` from a hub repository; returns its snapshot directory. */
async function resolveFromHub(
  repoId: string,
  requests: FileRequest[],
  options: HubDownloadOptions,
): Promise<ResolvedLocation> {
  let revision = options.revision ?? "main";
  let commit: string | undefined;
  const fetchFile = async (file: string) => {
    const got = await resolveHubFile(repoId, file, { ...options, revision });
    if (got.commit && !commit) {
      commit = got.commit;
      revision = commit; // pin the rest of this load to the same commit
    }
    return got;
  };
  const missing = (what: string) =>
    new WenxinError(
      "ERR_WENXIN_FILE_NOT_FOUND",
      `${repoId} (revision '${options.revision ?? "main"}') has no ${what}`,
      { subject: repoId },
    );

  for (const req of requests) {
    if ("file" in req) {
      const got = await fetchFile(req.file);
      if (got.kind === "missing" && !req.optional)
        throw missing(
          req.file === "config.json"
            ? "config.json: is it a model repository in Hugging Face format (the -PT repos, not -Paddle)?"
            : req.file,
        );
    } else if ("anyOf" in req) {
      let found = false;
      for (const file of req.anyOf) {
        found = (await fetchFile(file)).kind === "file";
        if (found) break; // the first alternative is enough (tokenizer.json makes tokenizer.model unnecessary)
      }
      if (!found) throw missing(`${req.why} (looked for ${req.anyOf.join(", ")})`);
    } else {
      const single = await fetchFile("model.safetensors");
      if (single.kind === "file") continue;
      const index = await fetchFile("model.safetensors.index.json");
      if (index.kind === "missing")
        throw missing("safetensors weights (looked for model.safetensors and model.safetensors.index.json)");
      const label = `${repoId}: model.safetensors.index.json`;
      const { shards } = indexShards(label, await readJsonFile(index.path), index.path);
      for (const shard of shards) {
        if ((await fetchFile(shard)).kind === "missing")
          throw missing(`${shard} (listed in model.safetensors.index.json)`);
      }
    }
  }
  if (!commit) throw missing("files at that revision");
  return {
    dir: new RepoCache(hubCacheDir(options.cache_dir), repoId).snapshotDir(commit),
    source: "hub",
    repoId,
    commit,
  };
}

/**
 * A local directory (used as is; its loader reports missing files) or a hub repo id (its files
 * fetched into the cache). Anything else is a clear "not found".
 */
export async function resolvePretrained(
  idOrPath: string,
  requests: FileRequest[],
  options: HubDownloadOptions = {},
): Promise<ResolvedLocation> {
  if (typeof idOrPath !== "string" || idOrPath.length === 0)
    throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "from_pretrained needs a hub repo id or a directory", {
      subject: "idOrPath",
    });
  const expanded = idOrPath.startsWith("~/") ? path.join(os.homedir(), idOrPath.slice(2)) : idOrPath;
  if (await isDirectory(expanded)) return { dir: path.resolve(expanded), source: "local" };
  const looksLikePath = /^(\.{1,2}[\\/]|[\\/]|~|[A-Za-z]:[\\/])/.test(idOrPath) || idOrPath.includes("\\");
  if (looksLikePath || !isValidRepoId(idOrPath))
    throw new WenxinError(
      "ERR_WENXIN_FILE_NOT_FOUND",
      `'${idOrPath}' is neither a directory nor a hub repo id ('org/name')`,
      { subject: idOrPath },
    );
  // transformers.js' env.localModelPath: a folder of models named as on the hub.
  if (env.allowLocalModels && env.localModelPath !== undefined) {
    const local = path.join(env.localModelPath, ...idOrPath.split("/"));
    if (await isDirectory(local)) return { dir: path.resolve(local), source: "local" };
  }
  return resolveFromHub(idOrPath, requests, options);
}
