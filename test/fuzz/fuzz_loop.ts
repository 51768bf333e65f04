// A coverage-less mutation fuzzer for the TypeScript parsers. libFuzzer cannot run JS, and
// Jazzer.js (libFuzzer for Node) does not load here: its only release with prebuilt binaries
// (4.0.0) needs glibc 2.38, older ones download binaries from GitHub. So inputs are mutated from a
// corpus seeded from the fixtures; an input is kept when it produces an outcome not seen before
// (a new error class or a new result shape), which steers mutations toward different code paths.
// A finding is any exception that is not a WenxinError, a broken invariant, or an input slower
// than `slowMs`.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { WenxinError } from "../../packages/engine/src/errors.js";
import { mutateBytes, mutateJson, Rng } from "./mutator.js";

export interface FuzzTarget {
  name: string;
  /** "json": inputs are JSON text; half the mutations are structural. */
  kind: "bytes" | "json";
  seeds(): Uint8Array[];
  /** Words worth inserting (markers, keys, keywords). */
  dict: string[];
  maxLen: number;
  /** Runs one input and returns a short signature of the outcome; throws only on a bug. */
  run(input: Uint8Array): string | Promise<string>;
}

export interface Finding {
  target: string;
  file: string;
  error: string;
}

export interface FuzzStats {
  target: string;
  executions: number;
  seconds: number;
  corpus: number;
  outcomes: number;
  findings: Finding[];
}

/** The outcome signature of an expected error: its code and the message without numbers or quoted parts. */
export function errorOutcome(err: unknown): string {
  if (!(err instanceof WenxinError)) throw err;
  return `${err.code}:${err.message.replace(/'[^']*'|"[^"]*"|\d+/g, "_").slice(0, 60)}`;
}

const decoder = new TextDecoder("utf-8", { fatal: false });
export const text = (b: Uint8Array): string => decoder.decode(b);

export function findingsDir(target: string): string {
  return path.join(process.env.FUZZ_FINDINGS_DIR ?? path.join(os.tmpdir(), "wenxin-fuzz-findings"), target);
}

/** Runs `target` until `seconds` pass or `maxExecs` inputs ran. */
export async function fuzz(
  target: FuzzTarget,
  opts: { seconds: number; maxExecs?: number; seed?: number; slowMs?: number },
): Promise<FuzzStats> {
  const rng = new Rng(opts.seed ?? 0x5eed);
  const slowMs = opts.slowMs ?? 2000;
  const corpus = target.seeds();
  const dict = target.dict.map((w) => new TextEncoder().encode(w));
  const seen = new Set<string>();
  const findings: Finding[] = [];
  const errorsSeen = new Set<string>();
  const start = performance.now();
  const deadline = start + opts.seconds * 1000;
  let executions = 0;

  const execute = async (input: Uint8Array): Promise<string | undefined> => {
    const t0 = performance.now();
    let outcome: string | undefined;
    let problem: string | undefined;
    try {
      outcome = await target.run(input);
    } catch (err) {
      problem = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ""}` : String(err);
    }
    const ms = performance.now() - t0;
    if (!problem && ms > slowMs) problem = `slow input: ${ms.toFixed(0)} ms`;
    executions++;
    if (problem) {
      const key = problem.split("\n")[0]!.replace(/\d+/g, "_").slice(0, 120);
      if (!errorsSeen.has(key) && findings.length < 10) {
        errorsSeen.add(key);
        const dir = findingsDir(target.name);
        mkdirSync(dir, { recursive: true });
        const file = path.join(dir, `crash-${createHash("sha1").update(input).digest("hex").slice(0, 16)}`);
        writeFileSync(file, input);
        findings.push({ target: target.name, file, error: problem.slice(0, 2000) });
      }
      return undefined;
    }
    return outcome;
  };

  for (const s of corpus) {
    const o = await execute(s);
    if (o !== undefined) seen.add(o);
  }
  while (performance.now() < deadline && (opts.maxExecs === undefined || executions < opts.maxExecs)) {
    const parent = rng.pick(corpus);
    let child: Uint8Array;
    if (target.kind === "json" && rng.chance(0.6)) {
      let value: unknown;
      try {
        value = JSON.parse(text(parent));
      } catch {
        value = undefined;
      }
      child =
        value === undefined
          ? mutateBytes(rng, parent, corpus, dict, target.maxLen)
          : new TextEncoder().encode(JSON.stringify(mutateJson(rng, value, target.dict)) ?? "");
    } else {
      child = mutateBytes(rng, parent, corpus, dict, target.maxLen);
    }
    const outcome = await execute(child);
    if (outcome !== undefined && !seen.has(outcome)) {
      seen.add(outcome);
      if (corpus.length < 2000) corpus.push(child);
    }
  }
  return {
    target: target.name,
    executions,
    seconds: (performance.now() - start) / 1000,
    corpus: corpus.length,
    outcomes: seen.size,
    findings,
  };
}
