// Gives each test its own empty cache and a clean hub environment (no real token, online, default endpoint).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const VARS = [
  "HF_HOME",
  "HF_HUB_CACHE",
  "HUGGINGFACE_HUB_CACHE",
  "HF_TOKEN",
  "HUGGING_FACE_HUB_TOKEN",
  "HF_TOKEN_PATH",
  "HF_HUB_OFFLINE",
  "TRANSFORMERS_OFFLINE",
  "HF_ENDPOINT",
  "HF_HUB_DOWNLOAD_TIMEOUT",
  "HF_HUB_ETAG_TIMEOUT",
];

export interface HubEnv {
  root: string;
  /** $HF_HOME/hub: the cache Python's huggingface_hub would use too. */
  cacheDir: string;
  restore(): void;
}

export function isolatedHubEnv(): HubEnv {
  const saved = Object.fromEntries(VARS.map((v) => [v, process.env[v]]));
  for (const v of VARS) delete process.env[v];
  const root = mkdtempSync(path.join(os.tmpdir(), "wenxin-hub-"));
  process.env.HF_HOME = root;
  return {
    root,
    cacheDir: path.join(root, "hub"),
    restore() {
      for (const v of VARS) {
        if (saved[v] === undefined) delete process.env[v];
        else process.env[v] = saved[v];
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
