// Each weight format against the float32 goldens (top-1 agreement and KL over every golden position),
// and every kernel path (WENXIN_ISA) giving the same figures.
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { describe, expect, it } from "vitest";

import { systemInfo } from "@wenxin/engine";

import { measureQuality, type QualityRow } from "../src/quality.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const FIXTURES = path.join(root, "test/fixtures/ernie45");
const BENCH = path.join(root, "packages/bench/dist/cli.js");

// Floors set from measured values (packages/bench/README.md) with a margin: they catch regressions.
const FLOORS = {
  bf16: { top1: 1.0, kl: 1e-8, maxAbs: 1e-3 },
  q8: { top1: 0.9, kl: 4e-2, maxAbs: 5 },
  q4: { top1: 0.3, kl: 1.5, maxAbs: 20 },
  fp8: { top1: 0.7, kl: 0.25, maxAbs: 10 },
} as const;

describe.each(["tiny-ernie45-dense", "tiny-ernie45-moe"])("%s", (model) => {
  it.each(["bf16", "q8", "q4", "fp8"] as const)("%s stays within its measured quality", async (weights) => {
    const r = await measureQuality(FIXTURES, model, weights);
    expect(r.positions).toBe(58);
    expect(r.top1).toBeGreaterThanOrEqual(FLOORS[weights].top1);
    expect(r.meanKl).toBeLessThanOrEqual(FLOORS[weights].kl);
    expect(r.maxAbsDiff).toBeLessThanOrEqual(FLOORS[weights].maxAbs);
  });
});

// KV cache precisions on exact weights (measured: dense bf16 100% / 4.8e-5, int8 100% / 4.7e-4;
// MoE bf16 100% / 2.5e-3, int8 94.8% / 8.5e-3 — router flips amplify small attention errors).
const KV_FLOORS = {
  bf16: { top1: 0.98, kl: 1e-2, bytes: 1 / 2 },
  int8: { top1: 0.9, kl: 3e-2, bytes: (1 + 4 / 32) / 4 },
} as const;

describe.each(["tiny-ernie45-dense", "tiny-ernie45-moe"])("%s KV cache", (model) => {
  it.each(["bf16", "int8"] as const)("%s keeps its measured fidelity at a fraction of the f32 memory", async (kv) => {
    const r = await measureQuality(FIXTURES, model, "bf16", 2, kv);
    expect(r.top1).toBeGreaterThanOrEqual(KV_FLOORS[kv].top1);
    expect(r.meanKl).toBeLessThanOrEqual(KV_FLOORS[kv].kl);
    expect(r.meanKl).toBeGreaterThan(0); // the cache really is reduced
    // f32: 2 (K, V) × layers × kv_dim × 4 bytes; head_dim 32 here, so int8 adds one 4-byte scale per 32 values
    const f32 = (await measureQuality(FIXTURES, model, "bf16", 2, "f32")).kvBytesPerToken;
    expect(r.kvBytesPerToken / f32).toBeCloseTo(KV_FLOORS[kv].bytes, 6);
  });
});

describe("kernel paths", () => {
  async function report(isa: string): Promise<QualityRow[]> {
    const { stdout } = await promisify(execFile)(process.execPath, [BENCH, "--quality", "--json"], {
      env: { ...process.env, WENXIN_ISA: isa },
    });
    return (JSON.parse(stdout) as { quality: QualityRow[] }).quality;
  }

  // Every path this CPU runs (a path it cannot run is refused, not measured under another's name).
  const paths = systemInfo().kernels.supported;
  it(`${paths.join(", ")} agree on every format and model`, async () => {
    const [generic, ...others] = await Promise.all(paths.map(report));
    expect(paths[0]).toBe("generic");
    for (const rows of others) {
      rows!.forEach((r, i) => {
        const g = generic![i]!;
        expect([r.model, r.weights]).toEqual([g.model, g.weights]);
        if (r.weights === "bf16" && r.kvCache === "f32") expect(r.maxAbsDiff).toBeLessThan(1e-3);
        // integer products are exact on every path; float summation order differs, and can flip the
        // rounding of a later layer's activation quantization
        expect(Math.abs(r.meanKl - g.meanKl)).toBeLessThan(0.1 * g.meanKl + 1e-9);
        expect(Math.abs(r.top1 - g.top1)).toBeLessThanOrEqual(2 / 58);
      });
    }
  });
});
