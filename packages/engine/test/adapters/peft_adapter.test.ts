// Reading a LoRA adapter against the base model: the fixture adapter's module list, and every way
// an adapter can fail to fit (targets, shapes, ranks, missing or foreign tensors) with a clear error.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import type { ModelConfig } from "../../src/index.js";
import { loadLoraAdapter, parseModelConfig } from "../../src/internal.js";
import { DENSE_DIR, FIXTURES, LORA_DIR, MOE_DIR, readSafetensors } from "../../../../test/helpers/fixtures.js";
import { writeSafetensors, type RawTensor } from "../../../../test/helpers/checkpoint.js";

const dense: ModelConfig = parseModelConfig(JSON.parse(readFileSync(path.join(DENSE_DIR, "config.json"), "utf8")));
const moe: ModelConfig = parseModelConfig(JSON.parse(readFileSync(path.join(MOE_DIR, "config.json"), "utf8")));
const fixtureConfig = JSON.parse(readFileSync(path.join(LORA_DIR, "adapter_config.json"), "utf8")) as Record<
  string,
  unknown
>;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tensor(shape: number[], dtype = "F32"): RawTensor {
  const width = dtype === "F32" ? 4 : dtype === "I64" ? 8 : 2;
  return { dtype, shape, bytes: new Uint8Array(shape.reduce((a, b) => a * b, 1) * width) };
}

const lora = (module: string, ab: "A" | "B") => `base_model.model.${module}.lora_${ab}.weight`;

/** An adapter directory with `config` patched over the fixture's and the given tensors. */
function writeAdapter(patch: Record<string, unknown>, tensors: Record<string, RawTensor>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wenxin-lora-"));
  dirs.push(dir);
  writeFileSync(path.join(dir, "adapter_config.json"), JSON.stringify({ ...fixtureConfig, ...patch }));
  writeSafetensors(path.join(dir, "adapter_model.safetensors"), new Map(Object.entries(tensors)));
  return dir;
}

/** A q_proj-only adapter on every dense layer with the given A/B shapes. */
function qProjAdapter(
  a: (l: number) => number[],
  b: (l: number) => number[],
  patch: Record<string, unknown> = {},
): string {
  const tensors: Record<string, RawTensor> = {};
  for (let l = 0; l < 4; l++) {
    tensors[lora(`model.layers.${l}.self_attn.q_proj`, "A")] = tensor(a(l));
    tensors[lora(`model.layers.${l}.self_attn.q_proj`, "B")] = tensor(b(l));
  }
  return writeAdapter({ target_modules: ["q_proj"], ...patch }, tensors);
}

async function failure(
  p: Promise<unknown>,
): Promise<{ code: string; message: string; details: { expected?: unknown; actual?: unknown; subject?: string } }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeDefined();
  return err as never;
}

describe("the fixture adapter", () => {
  it("describes every adapted layer with its tensors, rank and scale", async () => {
    const adapter = await loadLoraAdapter(LORA_DIR, dense);
    expect(adapter.modules).toHaveLength(16);
    expect(adapter.file).toBe(path.join(path.resolve(LORA_DIR), "adapter_model.safetensors"));
    const q0 = adapter.modules.find((m) => m.module === "model.layers.0.self_attn.q_proj")!;
    expect(q0).toMatchObject({
      layer: 0,
      block: "attention",
      projection: "q_proj",
      inFeatures: 128,
      outFeatures: 256,
      rank: 8,
      alpha: 16,
      scaling: 2,
    });
    expect(q0.loraA).toMatchObject({
      name: lora("model.layers.0.self_attn.q_proj", "A"),
      dtype: "F32",
      shape: [8, 128],
      byteLength: 8 * 128 * 4,
      file: adapter.file,
    });
    expect(q0.loraB).toMatchObject({ name: lora("model.layers.0.self_attn.q_proj", "B"), shape: [256, 8] });
    const down3 = adapter.modules.find((m) => m.module === "model.layers.3.mlp.down_proj")!;
    expect(down3).toMatchObject({ block: "mlp", inFeatures: 384, outFeatures: 128 });
    expect(new Set(adapter.modules.map((m) => m.projection))).toEqual(
      new Set(["q_proj", "v_proj", "gate_proj", "down_proj"]),
    );
  });

  it("points at the bytes of each tensor", async () => {
    const adapter = await loadLoraAdapter(LORA_DIR, dense);
    const file = readFileSync(adapter.file);
    const golden = readSafetensors(adapter.file);
    for (const m of adapter.modules.slice(0, 3)) {
      const bytes = file.subarray(m.loraB.byteOffset, m.loraB.byteOffset + m.loraB.byteLength);
      expect(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))).toEqual(
        golden.get(m.loraB.name)!.data,
      );
    }
  });

  it("does not fit the MoE model (other attention widths)", async () => {
    const e = await failure(loadLoraAdapter(LORA_DIR, moe));
    expect(e.code).toBe("ERR_WENXIN_SHAPE_MISMATCH");
  });
});

describe("adapters that do not fit are rejected with a clear error", () => {
  it("target_modules naming modules the model does not have", async () => {
    const dir = qProjAdapter(
      () => [8, 128],
      () => [256, 8],
      { target_modules: ["q_proj", "c_attn", "query_key_value"] },
    );
    const e = await failure(loadLoraAdapter(dir, dense));
    expect(e.code).toBe("ERR_WENXIN_INVALID_CONFIG");
    expect(e.message).toMatch(
      /target_modules 'c_attn', 'query_key_value' match no module of the base model; the base model \(4 layers\) has q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj/,
    );
    expect(e.details.actual).toEqual(["c_attn", "query_key_value"]);
  });

  it("lora_A trained for another hidden size", async () => {
    const e = await failure(
      loadLoraAdapter(
        qProjAdapter(
          () => [8, 256],
          () => [256, 8],
        ),
        dense,
      ),
    );
    expect(e.code).toBe("ERR_WENXIN_SHAPE_MISMATCH");
    expect(e.message).toMatch(
      /q_proj\.lora_A\.weight has shape \[8, 256\] but model\.layers\.0\.self_attn\.q_proj needs \[8, 128\]/,
    );
    expect(e.details).toMatchObject({ expected: [8, 128], actual: [8, 256] });
  });

  it("lora_B with the wrong output width (head_dim taken as hidden / heads)", async () => {
    const e = await failure(
      loadLoraAdapter(
        qProjAdapter(
          () => [8, 128],
          () => [128, 8],
        ),
        dense,
      ),
    );
    expect(e.code).toBe("ERR_WENXIN_SHAPE_MISMATCH");
    expect(e.details).toMatchObject({
      subject: lora("model.layers.0.self_attn.q_proj", "B"),
      expected: [256, 8],
      actual: [128, 8],
    });
  });

  it("a rank other than r without a rank_pattern, and accepted with one", async () => {
    const rank = (l: number) => (l === 2 ? 4 : 8);
    const e = await failure(
      loadLoraAdapter(
        qProjAdapter(
          (l) => [rank(l), 128],
          (l) => [256, rank(l)],
        ),
        dense,
      ),
    );
    expect(e.message).toMatch(/model\.layers\.2\.self_attn\.q_proj needs \[8, 128\]/);
    const patched = qProjAdapter(
      (l) => [rank(l), 128],
      (l) => [256, rank(l)],
      { rank_pattern: { "layers.2.self_attn.q_proj": 4 }, alpha_pattern: { "layers\\.[23]\\.self_attn\\.q_proj": 2 } },
    );
    const adapter = await loadLoraAdapter(patched, dense);
    expect(adapter.modules.map((m) => [m.layer, m.rank, m.alpha, m.scaling])).toEqual([
      [0, 8, 16, 2],
      [1, 8, 16, 2],
      [2, 4, 2, 0.5],
      [3, 8, 2, 0.25],
    ]);
  });

  it("use_rslora scales by alpha / sqrt(r)", async () => {
    const adapter = await loadLoraAdapter(
      qProjAdapter(
        () => [8, 128],
        () => [256, 8],
        { use_rslora: true },
      ),
      dense,
    );
    expect(adapter.modules[0]!.scaling).toBeCloseTo(16 / Math.sqrt(8), 12);
  });

  it("weights for a layer the model does not have", async () => {
    const dir = writeAdapter(
      { target_modules: ["q_proj"] },
      {
        [lora("model.layers.7.self_attn.q_proj", "A")]: tensor([8, 128]),
        [lora("model.layers.7.self_attn.q_proj", "B")]: tensor([256, 8]),
      },
    );
    const e = await failure(loadLoraAdapter(dir, dense));
    expect(e.code).toBe("ERR_WENXIN_INVALID_CONFIG");
    expect(e.message).toMatch(/weights for model\.layers\.7\.self_attn\.q_proj, which the base model does not have/);
  });

  it("weights for a layer target_modules do not select", async () => {
    const dir = writeAdapter(
      { target_modules: ["q_proj"], layers_to_transform: [0] },
      {
        [lora("model.layers.0.self_attn.q_proj", "A")]: tensor([8, 128]),
        [lora("model.layers.0.self_attn.q_proj", "B")]: tensor([256, 8]),
        [lora("model.layers.1.self_attn.q_proj", "A")]: tensor([8, 128]),
        [lora("model.layers.1.self_attn.q_proj", "B")]: tensor([256, 8]),
      },
    );
    const e = await failure(loadLoraAdapter(dir, dense));
    expect(e.message).toMatch(/model\.layers\.1\.self_attn\.q_proj, which its target_modules do not select/);
  });

  it("selected layers without weights, and an A without its B", async () => {
    const dir = writeAdapter(
      { target_modules: ["q_proj"] },
      {
        [lora("model.layers.0.self_attn.q_proj", "A")]: tensor([8, 128]),
        [lora("model.layers.0.self_attn.q_proj", "B")]: tensor([256, 8]),
      },
    );
    const e = await failure(loadLoraAdapter(dir, dense));
    expect(e.code).toBe("ERR_WENXIN_MISSING_TENSOR");
    expect(e.message).toMatch(
      /select 3 layer\(s\) the file has no weights for, first model\.layers\.1\.self_attn\.q_proj/,
    );
    const half = writeAdapter(
      { target_modules: ["q_proj"], layers_to_transform: [0] },
      { [lora("model.layers.0.self_attn.q_proj", "A")]: tensor([8, 128]) },
    );
    expect(await failure(loadLoraAdapter(half, dense))).toMatchObject({
      code: "ERR_WENXIN_MISSING_TENSOR",
      message: expect.stringMatching(/lora_B missing/),
    });
  });

  it("tensors of unsupported LoRA variants, and integer tensors", async () => {
    const dora = writeAdapter(
      { target_modules: ["q_proj"], layers_to_transform: [0] },
      {
        [lora("model.layers.0.self_attn.q_proj", "A")]: tensor([8, 128]),
        [lora("model.layers.0.self_attn.q_proj", "B")]: tensor([256, 8]),
        "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector": tensor([256]),
      },
    );
    expect(await failure(loadLoraAdapter(dora, dense))).toMatchObject({
      code: "ERR_WENXIN_INVALID_FILE",
      message: expect.stringMatching(/not supported/),
    });
    const ints = writeAdapter(
      { target_modules: ["q_proj"], layers_to_transform: [0] },
      {
        [lora("model.layers.0.self_attn.q_proj", "A")]: tensor([8, 128], "I64"),
        [lora("model.layers.0.self_attn.q_proj", "B")]: tensor([256, 8]),
      },
    );
    expect(await failure(loadLoraAdapter(ints, dense))).toMatchObject({ code: "ERR_WENXIN_UNSUPPORTED_DTYPE" });
  });

  it("a directory without adapter_model.safetensors names the .bin format", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "wenxin-lora-"));
    dirs.push(dir);
    writeFileSync(path.join(dir, "adapter_config.json"), JSON.stringify(fixtureConfig));
    expect(await failure(loadLoraAdapter(dir, dense))).toMatchObject({
      code: "ERR_WENXIN_FILE_NOT_FOUND",
      message: expect.stringMatching(/\.bin adapters are not supported/),
    });
  });
});

describe("MoE base models", () => {
  it("adapts routed and shared experts with their own widths, and refuses the router", async () => {
    const tensors: Record<string, RawTensor> = {};
    for (let l = 1; l < 4; l++) {
      for (let e = 0; e < 8; e++) {
        tensors[lora(`model.layers.${l}.mlp.experts.${e}.up_proj`, "A")] = tensor([4, 128]);
        tensors[lora(`model.layers.${l}.mlp.experts.${e}.up_proj`, "B")] = tensor([96, 4]);
      }
      tensors[lora(`model.layers.${l}.mlp.shared_experts.up_proj`, "A")] = tensor([4, 128]);
      tensors[lora(`model.layers.${l}.mlp.shared_experts.up_proj`, "B")] = tensor([192, 4]);
    }
    tensors[lora("model.layers.0.mlp.up_proj", "A")] = tensor([4, 128]);
    tensors[lora("model.layers.0.mlp.up_proj", "B")] = tensor([512, 4]);
    const adapter = await loadLoraAdapter(writeAdapter({ r: 4, target_modules: ["up_proj"] }, tensors), moe);
    expect(adapter.modules).toHaveLength(1 + 3 * 9);
    expect(adapter.modules.find((m) => m.module === "model.layers.2.mlp.experts.5.up_proj")).toMatchObject({
      block: "expert",
      expert: 5,
      outFeatures: 96,
    });
    expect(adapter.modules.find((m) => m.module === "model.layers.2.mlp.shared_experts.up_proj")).toMatchObject({
      block: "shared_experts",
      outFeatures: 192,
    });
    expect(adapter.modules.find((m) => m.module === "model.layers.0.mlp.up_proj")).toMatchObject({
      block: "mlp",
      outFeatures: 512,
    });

    const router = writeAdapter(
      { r: 4, target_modules: ["gate"], layers_to_transform: [1] },
      {
        [lora("model.layers.1.mlp.gate", "A")]: tensor([4, 128]),
        [lora("model.layers.1.mlp.gate", "B")]: tensor([8, 4]),
      },
    );
    expect(await failure(loadLoraAdapter(router, moe))).toMatchObject({
      code: "ERR_WENXIN_INVALID_CONFIG",
      message: expect.stringMatching(/MoE router is not supported/),
    });
  });

  it("reads peft 0.21's fused routed-expert parameters (target_parameters, nested base_layer)", async () => {
    const dir = path.join(FIXTURES, "finetune", "moe-attn-mlp", "adapter-initial");
    const adapter = await loadLoraAdapter(dir, moe);
    const layer1 = adapter.modules.filter((m) => m.layer === 1);
    expect(layer1.map((m) => m.module)).toEqual([
      "model.layers.1.mlp.experts.down_proj",
      "model.layers.1.mlp.experts.gate_up_proj",
      "model.layers.1.self_attn.k_proj",
      "model.layers.1.self_attn.o_proj",
      "model.layers.1.self_attn.q_proj",
      "model.layers.1.self_attn.v_proj",
    ]);
    // gate_up_proj: the inner wrapper (base_layer), rank and alpha from the patterns; down_proj: the outer one.
    expect(layer1[1]).toMatchObject({
      block: "experts",
      experts: 8,
      rank: 16,
      alpha: 32,
      scaling: 2,
      inFeatures: 128,
      outFeatures: 192,
      loraA: { name: "base_model.model.model.layers.1.mlp.experts.base_layer.lora_A.weight", shape: [128, 128] },
      loraB: { shape: [192, 128] },
    });
    expect(layer1[0]).toMatchObject({
      experts: 8,
      rank: 8,
      inFeatures: 96,
      outFeatures: 128,
      loraA: { name: "base_model.model.model.layers.1.mlp.experts.lora_A.weight", shape: [64, 96] },
    });
    expect(adapter.modules.some((m) => m.layer === 0 && m.module.includes("mlp"))).toBe(false);
  });

  it("a lone fused parameter is the outer wrapper; unknown target_parameters and wrong shapes are refused", async () => {
    const down = (l: number, which: "A" | "B") => `base_model.model.model.layers.${l}.mlp.experts.lora_${which}.weight`;
    const tensors: Record<string, RawTensor> = {};
    for (let l = 1; l < 4; l++) {
      tensors[down(l, "A")] = tensor([8 * 4, 96]);
      tensors[down(l, "B")] = tensor([128, 8 * 4]);
    }
    const ok = writeAdapter({ r: 4, target_modules: [], target_parameters: ["down_proj"] }, tensors);
    const adapter = await loadLoraAdapter(ok, moe);
    expect(adapter.modules.map((m) => m.module)).toEqual(
      [1, 2, 3].map((l) => `model.layers.${l}.mlp.experts.down_proj`),
    );
    const unknown = writeAdapter({ r: 4, target_modules: [], target_parameters: ["w2"] }, tensors);
    expect(await failure(loadLoraAdapter(unknown, moe))).toMatchObject({
      code: "ERR_WENXIN_INVALID_CONFIG",
      message: expect.stringMatching(/target_parameters 'w2' match no parameter/),
    });
    expect(await failure(loadLoraAdapter(ok, dense))).toMatchObject({
      code: "ERR_WENXIN_INVALID_CONFIG",
      message: expect.stringMatching(/no MoE layers/),
    });
    const wrongRank = writeAdapter({ r: 8, target_modules: [], target_parameters: ["down_proj"] }, tensors);
    expect(await failure(loadLoraAdapter(wrongRank, moe))).toMatchObject({ code: "ERR_WENXIN_SHAPE_MISMATCH" });
  });

  it("accepts tensor names with the adapter name in them (lora_A.default.weight)", async () => {
    const dir = writeAdapter(
      { target_modules: ["q_proj"], layers_to_transform: [0] },
      {
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight": tensor([8, 128]),
        "base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight": tensor([256, 8]),
      },
    );
    expect((await loadLoraAdapter(dir, dense)).modules.map((m) => m.module)).toEqual([
      "model.layers.0.self_attn.q_proj",
    ]);
  });
});
