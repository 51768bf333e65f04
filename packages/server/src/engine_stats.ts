/**
 * The engine's scheduler statistics for /metrics and /health: read at scrape time (engine.stats()
 * is synchronous and cheap), and absent before the engine is loaded or once it is closed.
 */
import type { Engine, EngineStats } from "@wenxin/engine";

export function engineStats(engine: Engine | undefined): EngineStats | undefined {
  if (!engine) return undefined;
  try {
    return engine.stats();
  } catch {
    return undefined; // closed while draining
  }
}
