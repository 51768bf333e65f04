/**
 * Engines loaded from a directory are shared: every ChatWenxin and WenxinEmbeddings naming the
 * same directory with the same load options uses one engine (one copy of the weights, one
 * scheduler that batches all their requests together).
 */
import path from "node:path";

import { Engine, type LoadOptions } from "@wenxin/engine";

const engines = new Map<string, Promise<Engine>>();

function keyOf(dir: string, options: LoadOptions): string {
  const sorted = Object.entries(options)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  return `${path.resolve(dir)}\0${JSON.stringify(sorted)}`;
}

/** The shared engine for `dir`, loading it on first use. */
export function getSharedEngine(dir: string, options: LoadOptions = {}): Promise<Engine> {
  const key = keyOf(dir, options);
  let engine = engines.get(key);
  if (!engine) {
    engine = Engine.load(dir, options);
    engines.set(key, engine);
    // A failed load is not cached: the next call tries again.
    engine.catch(() => engines.delete(key));
  }
  return engine;
}

/** Closes every shared engine (engines passed in as objects are the caller's to close). */
export async function closeSharedEngines(): Promise<void> {
  const all = [...engines.values()];
  engines.clear();
  await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.close()));
}
