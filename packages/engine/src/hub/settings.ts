/**
 * Where the hub is and how to reach it, read the way Python's huggingface_hub reads it
 * (HF_ENDPOINT, HF_HUB_CACHE/HF_HOME, HF_TOKEN, HF_HUB_OFFLINE) so both share one cache.
 * The environment is read at call time, so a running process (or a test) can change it.
 */
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { getHFHubCachePath } from "@huggingface/hub";

/** What `progress_callback` receives while files are resolved (the shape transformers.js uses). */
export type ProgressInfo =
  | { status: "initiate"; name: string; file: string }
  | { status: "download"; name: string; file: string }
  | { status: "progress"; name: string; file: string; progress: number; loaded: number; total: number }
  | { status: "done"; name: string; file: string }
  | { status: "ready"; task?: string; model: string };

export type ProgressCallback = (info: ProgressInfo) => void;

/** Process-wide defaults, like transformers.js' `env`. Options passed to a call win over these. */
export const env: {
  /** Cache root; `undefined` = HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
  cacheDir: string | undefined;
  /** false = never touch the network (like HF_HUB_OFFLINE=1). */
  allowRemoteModels: boolean;
  /** Hub base URL; `undefined` = HF_ENDPOINT, else https://huggingface.co. */
  remoteHost: string | undefined;
  /**
   * A folder of local models (transformers.js' `env.localModelPath`): a repo id "org/name" is
   * looked up as `<localModelPath>/org/name` first, before the hub cache. `undefined`: not used.
   */
  localModelPath: string | undefined;
  /** false = never use localModelPath. */
  allowLocalModels: boolean;
} = {
  cacheDir: undefined,
  allowRemoteModels: true,
  remoteHost: undefined,
  localModelPath: undefined,
  allowLocalModels: true,
};

const TRUE_VALUES = new Set(["1", "on", "yes", "true"]);

function envFlag(name: string): boolean {
  return TRUE_VALUES.has((process.env[name] ?? "").trim().toLowerCase());
}

export function hubEndpoint(): string {
  return (env.remoteHost ?? process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
}

export function hubCacheDir(explicit?: string): string {
  return path.resolve(explicit ?? env.cacheDir ?? getHFHubCachePath());
}

/** HF_HUB_OFFLINE (or transformers' TRANSFORMERS_OFFLINE), or `env.allowRemoteModels = false`. */
export function isOfflineMode(): boolean {
  return !env.allowRemoteModels || envFlag("HF_HUB_OFFLINE") || envFlag("TRANSFORMERS_OFFLINE");
}

function hfHome(): string {
  return (
    process.env.HF_HOME ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "huggingface")
  );
}

/**
 * The token sent to the hub: an explicit one, else HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN),
 * else the file `huggingface-cli login` writes ($HF_TOKEN_PATH or $HF_HOME/token). `false` sends none.
 */
export async function resolveToken(explicit?: string | false): Promise<string | undefined> {
  if (explicit === false) return undefined;
  if (explicit) return explicit;
  const fromEnv = process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN;
  if (fromEnv?.trim()) return fromEnv.trim();
  try {
    const stored = (await readFile(process.env.HF_TOKEN_PATH ?? path.join(hfHome(), "token"), "utf8")).trim();
    return stored || undefined;
  } catch {
    return undefined;
  }
}

/** Seconds before a HEAD (metadata) request or the first byte of a download gives up. */
export function requestTimeoutMs(kind: "metadata" | "download"): number {
  const v = Number(process.env[kind === "metadata" ? "HF_HUB_ETAG_TIMEOUT" : "HF_HUB_DOWNLOAD_TIMEOUT"]);
  return (Number.isFinite(v) && v > 0 ? v : 10) * 1000;
}
