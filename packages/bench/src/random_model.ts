/**
 * Random-weight ERNIE 4.5 checkpoints of the released shapes, written twice from the same values:
 * as a Hugging Face directory (bf16 safetensors, for wenxin.js) and as GGUF (F16 / Q8_0 / Q4_0, every
 * 2-D weight in that type, for llama.cpp). Values come from a seeded generator per tensor name.
 */
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import path from "node:path";

import {
  checkpointTensors,
  encodeSafetensorsHeader,
  fromBf16Bits,
  ggufModelMetadata,
  ggufTensorPlan,
  ggufTokenizerMetadata,
  parseModelConfig,
  ProgressLine,
  toBf16Bits,
  withProgress,
  writeGguf,
  type GgufTensor,
  type GgufTensorKind,
  type GgufTensorPlanEntry,
  type GgufTensorType,
  type GgufValue,
} from "@wenxin/engine/internal";

export interface HfConfig {
  architectures: string[];
  model_type: string;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim?: number;
  vocab_size: number;
  rope_theta?: number;
  rms_norm_eps?: number;
  tie_word_embeddings?: boolean;
  max_position_embeddings?: number;
  moe_num_experts?: number;
  moe_k?: number;
  moe_intermediate_size?: number;
  moe_num_shared_experts?: number;
  moe_layer_start_index?: number;
  moe_layer_interval?: number;
  [k: string]: unknown;
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The seeded values of one tensor, produced in pieces (for tensors too large to hold as float32 at once). */
export class TensorValueStream {
  private s: number;
  private readonly scale: number;

  constructor(
    name: string,
    private readonly kind: GgufTensorKind,
  ) {
    this.s = hash(name) || 1;
    this.scale = kind === "router" ? 0.1 : kind === "bias" ? 0.01 : 0.04;
  }

  /** Fills `out` with the next `out.length` values, already rounded to bf16. */
  next(out: Float32Array): Float32Array {
    if (this.kind === "norm") return out.fill(1);
    let s = this.s;
    const scale = this.scale;
    for (let i = 0; i < out.length; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      const u = s / 4294967296 - 0.5; // uniform(-0.5, 0.5)
      out[i] = fromBf16Bits(toBf16Bits(u * 2 * scale));
    }
    this.s = s;
    return out;
  }
}

/** Deterministic values for one tensor, already rounded to bf16 so every format starts from the same numbers. */
export function tensorValues(name: string, numel: number, kind: GgufTensorKind): Float32Array {
  return new TensorValueStream(name, kind).next(new Float32Array(numel));
}

/** The hparams the engine derives from `c` (one source for the tensor layout). */
function hparamsOf(c: HfConfig) {
  return parseModelConfig(c, "random model config").hparams;
}

/** The GGUF tensors of `c` with their checkpoint names, shapes and kinds (llama.cpp's layout). */
export function tensorSpecs(c: HfConfig): GgufTensorPlanEntry[] {
  return ggufTensorPlan(hparamsOf(c));
}

function specValues(s: GgufTensorPlanEntry): Float32Array {
  if (!s.parts)
    return tensorValues(
      s.hf,
      s.shape.reduce((a, b) => a * b, 1),
      s.kind,
    );
  const per = s.shape.slice(1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(per * s.parts.length);
  s.parts.forEach((name, e) => out.set(tensorValues(name, per, s.kind), e * per));
  return out;
}

/** Writes the checkpoint's tensors (the engine's layout, in its order) one at a time: bf16 matrices and norms, F32 router and bias. */
function writeSafetensorsStreaming(file: string, c: HfConfig, line: ProgressLine): void {
  const tensors = checkpointTensors(hparamsOf(c)).map((t) => {
    const dtype = t.kind === "router" || t.kind === "bias" ? "F32" : "BF16";
    return { ...t, dtype, byteLength: t.shape.reduce((a, b) => a * b, 1) * (dtype === "F32" ? 4 : 2) };
  });
  const fd = openSync(file, "w");
  try {
    writeSync(fd, encodeSafetensorsHeader(tensors).header);
    for (const [i, t] of tensors.entries()) {
      line.update(i + 1, tensors.length, "tensors");
      const v = tensorValues(
        t.name,
        t.shape.reduce((a, b) => a * b, 1),
        t.kind,
      );
      if (t.dtype === "F32") {
        writeSync(fd, Buffer.from(v.buffer));
      } else {
        const b = new Uint16Array(v.length);
        for (let i = 0; i < v.length; i++) b[i] = toBf16Bits(v[i]!);
        writeSync(fd, Buffer.from(b.buffer));
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** A tokenizer.json of `vocab` ids: the fixture tokenizer's pieces plus synthetic ones. */
function synthesizeTokenizer(fixtureDir: string, vocab: number): unknown {
  const tok = JSON.parse(readFileSync(path.join(fixtureDir, "tokenizer.json"), "utf8"));
  const model = tok.model.vocab as Record<string, number>;
  const used = new Set<number>([...Object.values(model), ...(tok.added_tokens as { id: number }[]).map((t) => t.id)]);
  for (let id = 0; id < vocab; id++) if (!used.has(id)) model[`▁w${id}`] = id;
  return tok;
}

/** Writes `config` (with `extra` fields) and the tokenizer files (the fixture's, over `vocab_size` ids) into `dir`. */
export function writeModelFiles(dir: string, config: HfConfig, fixtureDir: string, extra: object = {}): void {
  writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...config, ...extra }, null, 1));
  writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(synthesizeTokenizer(fixtureDir, config.vocab_size)));
  copyFileSync(path.join(fixtureDir, "tokenizer_config.json"), path.join(dir, "tokenizer_config.json"));
  copyFileSync(path.join(fixtureDir, "generation_config.json"), path.join(dir, "generation_config.json"));
}

const FILE_TYPE: Record<string, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 };

/** The GGUF model metadata of a random-weight file of `c` whose matrices are `type`. */
export function randomModelGgufMetadata(c: HfConfig, type: GgufTensorType): Record<string, GgufValue> {
  return ggufModelMetadata(hparamsOf(c), { name: "wenxin-bench random weights", fileType: FILE_TYPE[type]! });
}

export interface BuiltModel {
  hfDir: string;
  gguf: Partial<Record<GgufTensorType, string>>;
}

/**
 * Writes (or reuses) `outDir/<name>/hf` and `outDir/<name>/<type>.gguf` for `config`.
 * `fixtureDir` supplies the tokenizer files that the synthetic vocabulary extends.
 */
export async function buildRandomModel(
  name: string,
  config: HfConfig,
  outDir: string,
  fixtureDir: string,
  ggufTypes: GgufTensorType[],
): Promise<BuiltModel> {
  const root = path.join(outDir, name);
  const hfDir = path.join(root, "hf");
  mkdirSync(hfDir, { recursive: true });
  const stamp = JSON.stringify(config);
  const stampFile = path.join(root, "config.stamp");
  const fresh = !existsSync(stampFile) || readFileSync(stampFile, "utf8") !== stamp;
  if (fresh || !existsSync(path.join(hfDir, "model.safetensors"))) {
    const line = new ProgressLine(`building ${name}: random bf16 weights`);
    writeModelFiles(hfDir, config, fixtureDir);
    try {
      writeSafetensorsStreaming(path.join(hfDir, "model.safetensors"), config, line);
    } catch (err) {
      line.fail();
      throw err;
    }
    line.done();
  }
  const gguf: BuiltModel["gguf"] = {};
  for (const type of ggufTypes) {
    const file = path.join(root, `${type}.gguf`);
    if (fresh || !existsSync(file)) {
      const tensors: GgufTensor[] = tensorSpecs(config).map((s) => ({
        name: s.gguf,
        shape: s.shape,
        // every 2-D weight in the named type (the tied embedding included); norms, router and bias in F32
        type: s.kind === "matrix" ? type : "F32",
        values: () => specValues(s),
      }));
      const metadata = {
        ...randomModelGgufMetadata(config, type),
        ...(await ggufTokenizerMetadata(hfDir, config.vocab_size)),
      };
      await withProgress(`building ${name}: ${type} GGUF`, (line) => {
        let written = 0;
        const counted = tensors.map((t) => ({
          ...t,
          values: () => {
            line.update(++written, tensors.length, "tensors");
            return t.values();
          },
        }));
        writeGguf(file, metadata, counted);
      });
    }
    gguf[type] = file;
  }
  writeFileSync(stampFile, stamp);
  return { hfDir, gguf };
}
