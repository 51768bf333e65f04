/**
 * Engines shared across adapters: every model object (ChatWenxin, WenxinEmbeddings, the AI SDK
 * provider's models) naming the same checkpoint with the same load options uses one engine (one
 * copy of the weights, one scheduler that batches all their requests together). Each holder
 * takes a lease; the engine closes when the last lease is released.
 */
import path from "node:path";

import { Engine, type LoadOptions } from "./engine.js";

interface SharedEntry {
  engine: Promise<Engine>;
  leases: number;
}

const entries = new Map<string, SharedEntry>();

function keyOf(dir: string, options: LoadOptions): string {
  const sorted = Object.entries(options)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  return `${path.resolve(dir)}\0${JSON.stringify(sorted)}`;
}

/** One holder's share of a shared engine. */
export interface EngineLease {
  /** The engine, loaded on first use of its key. */
  readonly engine: Promise<Engine>;
  /** Gives the share back (once; later calls do nothing); the last one closes the engine. */
  release(): Promise<void>;
}

/** Takes a lease on the shared engine for `dir` and `options`, loading it if no one holds it. */
export function acquireSharedEngine(dir: string, options: LoadOptions = {}): EngineLease {
  const key = keyOf(dir, options);
  let entry = entries.get(key);
  if (!entry) {
    const created: SharedEntry = { engine: Engine.load(dir, options), leases: 0 };
    // A failed load is not kept: the next acquire tries again.
    created.engine.catch(() => {
      if (entries.get(key) === created) entries.delete(key);
    });
    entries.set(key, created);
    entry = created;
  }
  entry.leases++;
  const held = entry;
  let released = false;
  return {
    engine: held.engine,
    async release() {
      if (released) return;
      released = true;
      held.leases--;
      if (held.leases > 0 || entries.get(key) !== held) return;
      entries.delete(key);
      await (await held.engine.catch(() => undefined))?.close();
    },
  };
}

/** The shared engine for `dir`, held until closeSharedEngines() (for holders with no close of their own). */
export function getSharedEngine(dir: string, options: LoadOptions = {}): Promise<Engine> {
  return acquireSharedEngine(dir, options).engine;
}

/** Closes every shared engine, leased or not (engines passed in as objects are the caller's to close). */
export async function closeSharedEngines(): Promise<void> {
  const all = [...entries.values()];
  entries.clear();
  await Promise.all(all.map(async (e) => (await e.engine.catch(() => undefined))?.close()));
}

/** How many leases the shared engine for `dir` and `options` has (0 when none is loaded). */
export function sharedEngineLeases(dir: string, options: LoadOptions = {}): number {
  return entries.get(keyOf(dir, options))?.leases ?? 0;
}
