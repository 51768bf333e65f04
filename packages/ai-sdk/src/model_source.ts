/**
 * Where a model id runs: the in-process engine for a checkpoint (a lease on the shared engine,
 * taken on first use and given back by `close()`), or a remote OpenAI-compatible server.
 */
import type { Engine, LoadOptions } from "@wenxin/engine";
import { acquireSharedEngine, type EngineLease, type RemotePost } from "@wenxin/engine/internal";

export type ModelSource =
  | { mode: "local"; modelId: string; engine(): Promise<Engine>; close(): Promise<void> }
  | { mode: "remote"; modelId: string; post: RemotePost; close(): Promise<void> };

export function localSource(modelId: string, load: LoadOptions): ModelSource {
  let lease: EngineLease | undefined;
  return {
    mode: "local",
    modelId,
    engine() {
      lease ??= acquireSharedEngine(modelId, load);
      const held = lease;
      // A failed load holds nothing: the next call tries again.
      held.engine.catch(() => {
        if (lease === held) lease = undefined;
      });
      return held.engine;
    },
    async close() {
      const held = lease;
      lease = undefined;
      await held?.release();
    },
  };
}

export function remoteSource(modelId: string, post: RemotePost): ModelSource {
  return { mode: "remote", modelId, post, close: async () => undefined };
}
