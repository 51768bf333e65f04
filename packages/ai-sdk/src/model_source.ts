/**
 * Where a model id runs: the in-process engine for a checkpoint (a lease on the shared engine,
 * taken on first use and given back by `close()`), or a remote OpenAI-compatible server. A local
 * id is a checkpoint directory or `.gguf` file, or a Hugging Face hub repo id whose files are
 * fetched into the shared hub cache first.
 */
import { stat } from "node:fs/promises";

import type { Engine, LoadOptions } from "@wenxin/engine";
import {
  acquireSharedEngine,
  MODEL_FILES,
  resolvePretrained,
  type EngineLease,
  type HubDownloadOptions,
  type RemotePost,
} from "@wenxin/engine/internal";

export type ModelSource =
  | { mode: "local"; modelId: string; engine(): Promise<Engine>; close(): Promise<void> }
  | { mode: "remote"; modelId: string; post: RemotePost; close(): Promise<void> };

/** A path that exists (a directory or a `.gguf` file) as is; anything else through the hub. */
async function checkpointPath(modelId: string, hub: HubDownloadOptions): Promise<string> {
  const exists = await stat(modelId).then(
    () => true,
    () => false,
  );
  return exists ? modelId : (await resolvePretrained(modelId, MODEL_FILES, hub)).dir;
}

export function localSource(modelId: string, load: LoadOptions, hub: HubDownloadOptions): ModelSource {
  let lease: Promise<EngineLease> | undefined;
  return {
    mode: "local",
    modelId,
    async engine() {
      lease ??= checkpointPath(modelId, hub).then((dir) => acquireSharedEngine(dir, load));
      const held = lease;
      try {
        return await (
          await held
        ).engine;
      } catch (err) {
        // A failed resolution or load holds nothing: the next call tries again.
        if (lease === held) lease = undefined;
        throw err;
      }
    },
    async close() {
      const held = lease;
      lease = undefined;
      await (await held?.catch(() => undefined))?.release();
    },
  };
}

export function remoteSource(modelId: string, post: RemotePost): ModelSource {
  return { mode: "remote", modelId, post, close: async () => undefined };
}
