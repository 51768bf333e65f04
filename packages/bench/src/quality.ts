/**
 * Quality of each weight format (and KV cache precision) against the float32 goldens of the fixture models: top-1 agreement
 * and mean KL(reference ‖ ours) over every position of every golden prompt.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

import { Engine } from "@wenxin/engine";
import { decodeTensorF32, parseSafetensorsBuffer } from "@wenxin/engine/internal";

export type WeightsFormat = "bf16" | "q8" | "q4" | "fp8";
export type KvCachePrecision = "f32" | "bf16" | "int8";

export interface QualityRow {
  model: string;
  weights: WeightsFormat;
  kvCache: KvCachePrecision;
  /** KV cache memory per token of context, all layers. */
  kvBytesPerToken: number;
  positions: number;
  top1: number;
  meanKl: number;
  maxAbsDiff: number;
}

interface GoldenJson {
  prompts: Record<string, { input_ids: number[]; logits_positions?: number[] }>;
}

function readF32Safetensors(file: string): Map<string, Float32Array> {
  const { header, bytes } = parseSafetensorsBuffer(file, readFileSync(file));
  return new Map([...header.tensors.values()].map((t) => [t.name, decodeTensorF32(file, t, bytes(t))]));
}

function logSoftmax(row: Float32Array | number[], offset: number, n: number): Float64Array {
  let mx = -Infinity;
  for (let i = 0; i < n; i++) mx = Math.max(mx, row[offset + i]!);
  let z = 0;
  for (let i = 0; i < n; i++) z += Math.exp(row[offset + i]! - mx);
  const lz = Math.log(z) + mx;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = row[offset + i]! - lz;
  return out;
}

function argmax(a: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[offset + i]! > a[offset + best]!) best = i;
  return best;
}

/** `fixtures` is test/fixtures/ernie45; `model` one of its model directories. */
export async function measureQuality(
  fixtures: string,
  model: string,
  weights: WeightsFormat,
  threads = 2,
  kvCache: KvCachePrecision = "f32",
): Promise<QualityRow> {
  const goldenDir = path.join(fixtures, "golden", model);
  const golden = JSON.parse(readFileSync(path.join(goldenDir, "golden.json"), "utf8")) as GoldenJson;
  const tensors = readF32Safetensors(path.join(goldenDir, "golden.safetensors"));
  const engine = await Engine.load(path.join(fixtures, model), { threads, weights, kvCache, maxContext: 1024 });
  try {
    const V = engine.config.hparams.vocabSize;
    let positions = 0,
      agree = 0,
      kl = 0,
      maxAbsDiff = 0;
    for (const [name, p] of Object.entries(golden.prompts)) {
      const logits = await engine.logits(p.input_ids);
      const full = tensors.get(`${name}.logits`);
      const at = tensors.get(`${name}.logits_at`);
      const pairs: [number, Float32Array, number][] = full
        ? p.input_ids.map((_, t) => [t, full, t * V])
        : p.logits_positions!.map((pos, j) => [pos, at!, j * V]);
      for (const [pos, ref, refOffset] of pairs) {
        const lr = logSoftmax(ref, refOffset, V),
          lo = logSoftmax(logits, pos * V, V);
        let k = 0;
        for (let i = 0; i < V; i++) {
          k += Math.exp(lr[i]!) * (lr[i]! - lo[i]!);
          maxAbsDiff = Math.max(maxAbsDiff, Math.abs(logits[pos * V + i]! - ref[refOffset + i]!));
        }
        kl += k;
        positions++;
        if (argmax(logits, pos * V, V) === argmax(ref, refOffset, V)) agree++;
      }
    }
    const kvBytesPerToken = engine.stats().kvBytesPerToken;
    return {
      model,
      weights,
      kvCache,
      kvBytesPerToken,
      positions,
      top1: agree / positions,
      meanKl: kl / positions,
      maxAbsDiff,
    };
  } finally {
    await engine.close();
  }
}
