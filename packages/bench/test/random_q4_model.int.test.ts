// buildRandomQ4Model writes in one pass what the two-step route makes (bf16 checkpoint, then `wenxin
// quantize --weights q4`, and the Q4_0 GGUF of buildRandomModel): the same tensors byte for byte and the same
// GGUF file, on small MoE shapes with rows that end in a 32-value half chunk, tied and untied heads; and
// re-saved in the kernels' tiles (from the plain copy, or from another path's tiles once it is gone), the
// same logits.
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, it } from "vitest";

import { Engine, quantizeModel, systemInfo } from "@wenxin/engine";
import { parseSafetensorsBuffer } from "@wenxin/engine/internal";

import { buildRandomModel, type HfConfig } from "../src/random_model.js";
import { buildRandomQ4Model } from "../src/random_q4_model.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const FIXTURE = path.join(root, "test/fixtures/ernie45/tiny-ernie45-dense");
const dir = mkdtempSync(path.join(os.tmpdir(), "wenxin-q4model-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = JSON.parse(
  readFileSync(path.join(root, "test/fixtures/ernie45/tiny-ernie45-moe/config.json"), "utf8"),
) as HfConfig;
// hidden 96 and expert width 96: rows of 64 + a trailing 32-value half chunk in the q4 layout.
const shape: HfConfig = { ...base, hidden_size: 96, head_dim: 32, moe_intermediate_size: 96, num_hidden_layers: 3 };

function tensors(file: string): Map<string, { dtype: string; shape: number[]; bytes: Buffer }> {
  const buf = readFileSync(file);
  const { header, bytes } = parseSafetensorsBuffer(file, buf);
  return new Map(
    [...header.tensors.values()].map((t) => [t.name, { dtype: t.dtype, shape: t.shape, bytes: Buffer.from(bytes(t)) }]),
  );
}

describe.each([false, true])("tie_word_embeddings %s", (tied) => {
  const config = { ...shape, tie_word_embeddings: tied };
  const name = `q4-${tied}`;

  it("writes the checkpoint `wenxin quantize` makes and the same Q4_0 GGUF", async () => {
    const twoStep = await buildRandomModel(name, config, path.join(dir, "two-step"), FIXTURE, ["Q4_0"]);
    const quantized = path.join(dir, `${name}-quantized`);
    await quantizeModel(twoStep.hfDir, quantized, { weights: "q4", threads: 1 });
    const direct = await buildRandomQ4Model(name, config, path.join(dir, "direct"), FIXTURE);

    expect(readFileSync(direct.gguf).equals(readFileSync(twoStep.gguf.Q4_0!))).toBe(true);

    const want = tensors(path.join(quantized, "model.safetensors"));
    const got = tensors(path.join(direct.dir, "model.safetensors"));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    expect(got.has("lm_head.qweight")).toBe(true);
    for (const [n, t] of want) {
      const g = got.get(n)!;
      expect({ n, dtype: g.dtype, shape: g.shape }).toEqual({ n, dtype: t.dtype, shape: t.shape });
      expect(g.bytes.equals(t.bytes), n).toBe(true);
    }

    // re-saved in the active path's tiles (the plain copy deleted), the same GGUF
    const active = `q4-tiles-${systemInfo().kernels.active}`;
    const tiled = await buildRandomQ4Model(name, config, path.join(dir, "direct"), FIXTURE, { tiles: true });
    expect(path.basename(tiled.dir)).toBe(active);
    expect(existsSync(path.join(direct.dir, "model.safetensors"))).toBe(false);
    expect(tensors(path.join(tiled.dir, "model.safetensors")).has("lm_head.qtiles")).toBe(true);
    expect(tiled.gguf).toBe(direct.gguf);

    // with only another path's tiles left (as after a run forced to that path), re-saved from those, which stay
    const other = path.join(path.dirname(tiled.dir), "q4-tiles-other");
    renameSync(tiled.dir, other);
    const written = statSync(path.join(direct.dir, "config.json")).mtimeMs;
    const again = await buildRandomQ4Model(name, config, path.join(dir, "direct"), FIXTURE, { tiles: true });
    expect(again.dir).toBe(tiled.dir);
    expect(statSync(path.join(direct.dir, "config.json")).mtimeMs).toBe(written); // not built again
    expect(existsSync(path.join(other, "model.safetensors"))).toBe(true);

    // and the engine reads each: the same logits as from the quantized checkpoint
    const ids = [1, 17, 300, 42, 7];
    const a = await Engine.load(quantized, { weights: "q4", threads: 1 });
    try {
      const want = Array.from(await a.logits(ids));
      for (const d of [again.dir, other]) {
        const b = await Engine.load(d, { weights: "q4", threads: 1 });
        try {
          expect(Array.from(await b.logits(ids)), d).toEqual(want);
        } finally {
          await b.close();
        }
      }
    } finally {
      await a.close();
    }
  });
});
