// quantizeModel(): a saved quantized checkpoint reloads (memory-mapped) to exactly the logits of
// quantizing at load; q4 saved in the kernels' tiles reloads to the same logits on every kernel path;
// damaged quantized tensors are named in the error.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { afterAll, describe, expect, it } from "vitest";

import { Engine, quantizeModel, systemInfo } from "../../src/index.js";
import { readRawSafetensors, writeSafetensors } from "../../../../test/helpers/checkpoint.js";
import { DENSE_DIR, loadGolden, MOE_DIR } from "../../../../test/helpers/fixtures.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-quantize-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each([
  ["dense", DENSE_DIR, "tiny-ernie45-dense"],
  ["moe", MOE_DIR, "tiny-ernie45-moe"],
] as const)("%s", (name, dir, model) => {
  it.each(["q8", "q4", "fp8"] as const)("%s: saved and reloaded equals quantized at load", async (weights) => {
    const out = path.join(tmp, `${name}-${weights}`);
    await quantizeModel(dir, out, { weights, threads: 2 });
    const ids = loadGolden(model).json.prompts.chat!.input_ids;
    const atLoad = await Engine.load(dir, { weights, threads: 2 });
    const saved = await Engine.load(out, { threads: 2 });
    try {
      expect(Array.from(await saved.logits(ids))).toEqual(Array.from(await atLoad.logits(ids)));
      expect(saved.tokenizer.encode("文心")).toEqual(atLoad.tokenizer.encode("文心"));
    } finally {
      await atLoad.close();
      await saved.close();
    }
    const tensors = readRawSafetensors(path.join(out, "model.safetensors"));
    expect(tensors.get("model.layers.0.self_attn.q_proj.qweight")?.dtype).toBe("U8");
    expect(tensors.has("model.layers.0.self_attn.q_proj.weight")).toBe(false);
  });
});

describe("q4 in the kernels' tiles", () => {
  const engineIndex = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../dist/index.js");
  // Logits of each checkpoint under WENXIN_ISA=isa, in a fresh process (the kernel table is chosen once).
  const logitsUnder = async (isa: string, dirs: string[], ids: number[]) => {
    const script = `const { Engine } = await import(${JSON.stringify(engineIndex)});
      const out = [];
      for (const d of ${JSON.stringify(dirs)}) {
        const e = await Engine.load(d, { threads: 2 });
        out.push(Array.from(await e.logits(${JSON.stringify(ids)})));
        await e.close();
      }
      console.log(JSON.stringify(out));`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, WENXIN_ISA: isa },
      maxBuffer: 64 << 20,
    });
    return JSON.parse(stdout.trim().split("\n").at(-1)!) as number[][];
  };

  it("reloads to the plain q4 checkpoint's logits on every path (in place where the tiles match, else unpacked)", async () => {
    const plain = path.join(tmp, "moe-q4-plain");
    const fromBf16 = path.join(tmp, "moe-q4-tiles");
    const fromQ4 = path.join(tmp, "moe-q4-tiles-from-q4");
    await quantizeModel(MOE_DIR, plain, { weights: "q4", threads: 2 });
    await quantizeModel(MOE_DIR, fromBf16, { weights: "q4", threads: 2, tiles: true });
    await quantizeModel(plain, fromQ4, { weights: "q4", threads: 2, tiles: true });
    for (const dir of [fromBf16, fromQ4]) {
      const tensors = readRawSafetensors(path.join(dir, "model.safetensors"));
      expect(tensors.get("model.layers.1.mlp.experts.3.down_proj.qtiles")?.dtype).toBe("U8");
      expect(tensors.get("lm_head.qtiles")?.dtype).toBe("U8");
      expect([...tensors.keys()].filter((n) => n.endsWith(".qweight") || n.endsWith(".qscale"))).toEqual([]);
    }
    const ids = loadGolden("tiny-ernie45-moe").json.prompts.chat!.input_ids;
    const { supported } = systemInfo().kernels;
    expect(supported.length).toBeGreaterThan(1);
    for (const isa of supported) {
      const [want, a, b] = await logitsUnder(isa, [plain, fromBf16, fromQ4], ids);
      expect(a, isa).toEqual(want);
      expect(b, isa).toEqual(want);
    }
  });

  it("is refused for other formats", async () => {
    await expect(
      quantizeModel(DENSE_DIR, path.join(tmp, "q8-tiles"), { weights: "q8", tiles: true }),
    ).rejects.toMatchObject({ code: "ERR_WENXIN_INVALID_ARGUMENT", message: expect.stringContaining("tiles") });
  });
});

describe("errors", () => {
  it("names a quantized tensor whose scales are missing", async () => {
    const out = path.join(tmp, "broken");
    await quantizeModel(DENSE_DIR, out, { weights: "q4" });
    const file = path.join(out, "model.safetensors");
    const t = readRawSafetensors(file);
    t.delete("model.layers.2.mlp.up_proj.qscale");
    writeSafetensors(file, t);
    await expect(Engine.load(out)).rejects.toMatchObject({
      code: "ERR_WENXIN_MISSING_TENSOR",
      message: expect.stringContaining("model.layers.2.mlp.up_proj.qscale"),
    });
  });

  it("refuses bf16 as a quantization target and an output equal to the source", async () => {
    await expect(quantizeModel(DENSE_DIR, path.join(tmp, "x"), { weights: "bf16" as never })).rejects.toMatchObject({
      code: "ERR_WENXIN_INVALID_ARGUMENT",
    });
    await expect(quantizeModel(DENSE_DIR, DENSE_DIR, { weights: "q8" })).rejects.toMatchObject({
      code: "ERR_WENXIN_INVALID_ARGUMENT",
    });
  });
});
