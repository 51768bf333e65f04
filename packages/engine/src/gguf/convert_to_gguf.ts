/**
 * `wenxin convert DIR --to gguf`: a Hugging Face ERNIE 4.5 checkpoint directory → one GGUF file
 * laid out as llama.cpp's converter lays it out (see ernie_gguf_layout.ts), with the tokenizer and
 * chat template from the checkpoint's tokenizer files. Tensors are read one at a time from the
 * safetensors shards, so memory stays at about one tensor (one layer's experts for MoE).
 */
import path from "node:path";

import { z } from "zod";

import { WenxinError } from "../errors.js";
import { loadModelConfig } from "../model/config.js";
import { canonicalTensorName, checkpointTensors, fusedExportRows } from "../model/ernie_layout.js";
import { readSafetensorsHeaderSync, readTensorRowsF32Sync, type TensorInfo } from "../model/safetensors_file.js";
import { resolveWeightFiles } from "../model/weights.js";
import { parseOrThrow } from "../generation/options.js";
import { GGUF_FILE_TYPE } from "./gguf_format.js";
import { ggufModelMetadata, ggufTensorPlan, type GgufTensorPlanEntry } from "./ernie_gguf_layout.js";
import { ggufTokenizerMetadata } from "./gguf_tokenizer.js";
import { fitsType, writeGguf, type GgufTensor, type GgufTensorType, type GgufValue } from "./gguf_writer.js";

export const convertToGgufOptionsSchema = z.object({
  /** Where to write the .gguf file. */
  out: z.string().min(1),
  /**
   * Type of the matrices: f32, f16, q8_0 or q4_0. Norms, the MoE router and its bias stay F32 (as
   * llama.cpp's converter keeps them); with q4_0 the embedding and LM head are Q8_0. Matrices
   * whose rows are not whole 32-value blocks fall back to F16.
   */
  type: z.enum(["f32", "f16", "q8_0", "q4_0"]).default("f16"),
  /** general.name (default: the directory name). */
  name: z.string().optional(),
});
export type ConvertToGgufOptions = z.input<typeof convertToGgufOptionsSchema>;

/** The tensors of a checkpoint's shards (by transformers' names), read on demand as float32. */
class Checkpoint {
  private constructor(private readonly tensors: Map<string, { file: string; info: TensorInfo }>) {}

  static open(files: string[]): Checkpoint {
    const tensors = new Map<string, { file: string; info: TensorInfo }>();
    for (const file of files)
      for (const info of readSafetensorsHeaderSync(file).tensors.values())
        tensors.set(canonicalTensorName(info.name), { file, info });
    return new Checkpoint(tensors);
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** Rows [r0, r0 + count) of a tensor as float32 (all rows by default). */
  read(name: string, r0 = 0, count?: number): { shape: number[]; data: Float32Array } {
    const t = this.tensors.get(name);
    if (!t)
      throw new WenxinError("ERR_WENXIN_MISSING_TENSOR", `the checkpoint has no tensor '${name}'`, { subject: name });
    return readTensorRowsF32Sync(t.file, t.info, r0, count);
  }
}

/** Where a projection sits in a fused export (see fusedExportRows). */
type FusedRows = ReturnType<typeof fusedExportRows>;

/** A plan entry's values; a projection an export fused with others (qkv_proj, up_gate_proj) is read from its rows. */
function readEntry(ckpt: Checkpoint, fused: FusedRows, e: GgufTensorPlanEntry): Float32Array {
  const numel = e.shape.reduce((a, b) => a * b, 1);
  const one = (name: string, rows: number): Float32Array => {
    if (ckpt.has(name)) return ckpt.read(name).data;
    const f = fused.get(name);
    if (f && ckpt.has(f.name)) return ckpt.read(f.name, f.row, rows).data;
    throw new WenxinError(
      "ERR_WENXIN_MISSING_TENSOR",
      `the checkpoint has no tensor '${name}' (needed for ${e.gguf})`,
      { subject: name },
    );
  };
  if (e.parts) {
    const out = new Float32Array(numel);
    const per = numel / e.parts.length;
    e.parts.forEach((name, i) => out.set(check(one(name, e.shape[1]!), per, name), i * per));
    return out;
  }
  if (e.kind === "bias" && !ckpt.has(e.hf)) return new Float32Array(numel); // absent correction bias = zeros
  return check(one(e.hf, e.shape[0]!), numel, e.hf);
}

function check(data: Float32Array, numel: number, name: string): Float32Array {
  if (data.length !== numel)
    throw new WenxinError(
      "ERR_WENXIN_SHAPE_MISMATCH",
      `tensor '${name}' has ${data.length} values, expected ${numel}`,
      { subject: name, expected: numel, actual: data.length },
    );
  return data;
}

const TYPES: Record<NonNullable<ConvertToGgufOptions["type"]>, GgufTensorType> = {
  f32: "F32",
  f16: "F16",
  q8_0: "Q8_0",
  q4_0: "Q4_0",
};

/** The GGUF type of one tensor when converting to `type`. */
export function tensorTypeFor(e: GgufTensorPlanEntry, type: GgufTensorType): GgufTensorType {
  if (e.kind !== "matrix") return "F32";
  const head = e.gguf === "token_embd.weight" || e.gguf === "output.weight";
  const wanted = type === "Q4_0" && head ? "Q8_0" : type;
  return fitsType(wanted, e.shape.at(-1)!) ? wanted : type === "F32" ? "F32" : "F16";
}

export interface GgufConversion {
  metadata: Record<string, GgufValue>;
  /** Tensors in file order; their values are read from the checkpoint when written. */
  tensors: GgufTensor[];
}

/** What convertToGguf writes, before writing (to inspect or adjust it). */
export async function prepareGgufConversion(
  dir: string,
  type: ConvertToGgufOptions["type"] = "f16",
  name?: string,
): Promise<GgufConversion> {
  const config = await loadModelConfig(dir);
  const hp = config.hparams;
  const ckpt = Checkpoint.open(await resolveWeightFiles(dir));
  const fused = fusedExportRows(checkpointTensors(hp));
  const ggufType = TYPES[type];
  const metadata = {
    ...ggufModelMetadata(hp, { name: name ?? path.basename(path.resolve(dir)), fileType: GGUF_FILE_TYPE[ggufType]! }),
    ...(await ggufTokenizerMetadata(dir, hp.vocabSize)),
  };
  const tensors: GgufTensor[] = ggufTensorPlan(hp).map((e) => ({
    name: e.gguf,
    shape: e.shape,
    type: tensorTypeFor(e, ggufType),
    values: () => readEntry(ckpt, fused, e),
  }));
  return { metadata, tensors };
}

/** Converts the checkpoint in `dir` to a GGUF file; returns the path written and its tensor count. */
export async function convertToGguf(
  dir: string,
  options: ConvertToGgufOptions,
): Promise<{ file: string; tensors: number }> {
  const opts = parseOrThrow(convertToGgufOptionsSchema, options, "convertToGguf options");
  const { metadata, tensors } = await prepareGgufConversion(dir, opts.type, opts.name);
  writeGguf(opts.out, metadata, tensors);
  return { file: opts.out, tensors: tensors.length };
}
