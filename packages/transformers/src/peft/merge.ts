/**
 * Merges LoRA adapters into a copy of the base checkpoint: W' = W + scaling · B·A for every adapted
 * layer, written as float32 (the other tensors are copied byte for byte, shards kept as they are).
 * The result is an ordinary checkpoint directory: any engine, or Python, loads it.
 */
import { copyFile, mkdir, readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";

import { WenxinError, type LoraAdapter, type LoraModuleSpec } from "@wenxin/engine";
import {
  readJsonObjectFile,
  readSafetensorsHeader,
  readTensorF32,
  resolveWeightFiles,
  writeSafetensors,
  type TensorSource,
} from "@wenxin/engine/internal";

const INDEX_FILE = "model.safetensors.index.json";

/** W (row-major [out, in]) += scaling · B [out, r] · A [r, in]. */
export function addLoraDelta(
  weight: Float32Array,
  a: Float32Array,
  b: Float32Array,
  spec: Pick<LoraModuleSpec, "rank" | "inFeatures" | "outFeatures" | "scaling">,
): void {
  const { rank, inFeatures: n, outFeatures: m, scaling } = spec;
  for (let o = 0; o < m; o++) {
    const row = o * n;
    for (let r = 0; r < rank; r++) {
      const coef = scaling * b[o * rank + r]!;
      if (coef === 0) continue;
      const aRow = r * n;
      for (let i = 0; i < n; i++) weight[row + i]! += coef * a[aRow + i]!;
    }
  }
}

async function assertEmptyOrAbsent(dir: string): Promise<void> {
  try {
    if ((await readdir(dir)).length > 0)
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", `output directory ${dir} is not empty`, { subject: dir });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/**
 * Writes base checkpoint `baseDir` with `adapters` merged into `outputDir` (created; must be empty).
 * Config, tokenizer and generation files are copied along. Returns `outputDir`.
 */
export async function mergeAdapterIntoCheckpoint(
  baseDir: string,
  adapters: LoraAdapter | LoraAdapter[],
  outputDir: string,
): Promise<string> {
  const list = Array.isArray(adapters) ? adapters : [adapters];
  await assertEmptyOrAbsent(outputDir);
  await mkdir(outputDir, { recursive: true });

  const pending = new Map<string, Merge[]>();
  const add = (key: string, m: Merge) => pending.set(key, [...(pending.get(key) ?? []), m]);
  for (const adapter of list)
    for (const spec of adapter.modules) {
      if (spec.experts === undefined) {
        add(`${spec.module}.weight`, { spec, rows: [0, spec.outFeatures] });
        continue;
      }
      // A fused expert parameter merges into every expert's own projections (the on-disk layout).
      const prefix = spec.module.slice(0, spec.module.lastIndexOf("."));
      const width = spec.projection === "gate_up_proj" ? spec.outFeatures / 2 : spec.outFeatures;
      for (let e = 0; e < spec.experts; e++) {
        if (spec.projection === "gate_up_proj") {
          add(`${prefix}.${e}.gate_proj.weight`, { spec, expert: e, rows: [0, width] });
          add(`${prefix}.${e}.up_proj.weight`, { spec, expert: e, rows: [width, 2 * width] });
        } else {
          add(`${prefix}.${e}.down_proj.weight`, { spec, expert: e, rows: [0, width] });
        }
      }
    }
  const factors = new Map<LoraModuleSpec, Promise<[Float32Array, Float32Array]>>();
  const readFactors = (spec: LoraModuleSpec) => {
    if (!factors.has(spec))
      factors.set(
        spec,
        Promise.all([
          readTensorF32(spec.loraA.file, toInfo(spec.loraA)),
          readTensorF32(spec.loraB.file, toInfo(spec.loraB)),
        ]),
      );
    return factors.get(spec)!;
  };

  let totalSize = 0;
  for (const file of await resolveWeightFiles(baseDir)) {
    const header = await readSafetensorsHeader(file);
    const tensors: TensorSource[] = [];
    for (const t of [...header.tensors.values()].sort((x, y) => x.begin - y.begin)) {
      const merges = pending.get(t.name);
      if (!merges) {
        tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, copyFrom: { file, begin: t.begin, end: t.end } });
        continue;
      }
      pending.delete(t.name);
      const weight = await readTensorF32(file, t);
      for (const { spec, expert, rows } of merges) {
        const out = rows[1] - rows[0];
        if (t.shape[0] !== out || t.shape[1] !== spec.inFeatures)
          throw new WenxinError(
            "ERR_WENXIN_SHAPE_MISMATCH",
            `${t.name} is [${t.shape.join(", ")}] but the adapter expects [${out}, ${spec.inFeatures}]`,
            {
              subject: t.name,
              expected: [out, spec.inFeatures],
              actual: t.shape,
            },
          );
        const [a, b] = await readFactors(spec);
        if (expert === undefined) addLoraDelta(weight, a, b, spec);
        else addLoraDelta(weight, ...expertFactors(spec, expert, rows, a, b), { ...spec, outFeatures: out });
      }
      tensors.push({ name: t.name, dtype: "F32", shape: t.shape, data: weight });
    }
    totalSize += await writeSafetensors(path.join(outputDir, path.basename(file)), tensors, header.metadata);
  }
  const left = [...pending.keys()];
  if (left.length > 0)
    throw new WenxinError(
      "ERR_WENXIN_MISSING_TENSOR",
      `the base checkpoint has no tensor ${left[0]} to merge into (fused or renamed weights cannot be merged)`,
      {
        subject: left[0],
      },
    );

  for (const name of await readdir(baseDir)) {
    const src = path.join(baseDir, name);
    if (name.endsWith(".safetensors") || !(await stat(src)).isFile()) continue;
    if (name === INDEX_FILE) {
      const index = await readJsonObjectFile(src);
      const metadata = { ...(index.metadata as Record<string, unknown> | undefined), total_size: totalSize };
      await writeFile(path.join(outputDir, name), JSON.stringify({ ...index, metadata }, null, 2));
    } else {
      await copyFile(src, path.join(outputDir, name)); // follows hub-cache symlinks
    }
  }
  return outputDir;
}

/** One base tensor's share of an adapted module: rows of B (a fused gate_up_proj splits), and the expert. */
interface Merge {
  spec: LoraModuleSpec;
  expert?: number;
  rows: [number, number];
}

/** Expert e's A (rows e·r … of A) and the rows [r0, r1) of its B (columns j·E + e of B), as peft lays them out. */
function expertFactors(
  spec: LoraModuleSpec,
  e: number,
  [r0, r1]: [number, number],
  a: Float32Array,
  b: Float32Array,
): [Float32Array, Float32Array] {
  const r = spec.rank,
    experts = spec.experts!,
    cols = experts * r;
  const be = new Float32Array((r1 - r0) * r);
  for (let o = r0; o < r1; o++) for (let j = 0; j < r; j++) be[(o - r0) * r + j] = b[o * cols + j * experts + e]!;
  return [a.subarray(e * r * spec.inFeatures, (e + 1) * r * spec.inFeatures), be];
}

function toInfo(ref: LoraModuleSpec["loraA"]) {
  return {
    name: ref.name,
    dtype: ref.dtype,
    shape: ref.shape,
    begin: ref.byteOffset,
    end: ref.byteOffset + ref.byteLength,
  };
}
