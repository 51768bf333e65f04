/**
 * A random-weight model written straight into wenxin's q4 checkpoint and a Q4_0 GGUF, for shapes too
 * large to pass through bf16 (ERNIE-4.5-21B-A3B: 42 GB as bf16, ~12 GB as q4). One pass over the
 * tensors: each matrix's seeded values (the same as `buildRandomModel`'s) are quantized once to Q4_0
 * blocks, written to the GGUF as they are and to the checkpoint re-laid as `.qweight` / `.qscale`
 * (the engine's q4 quantizer makes the same blocks, so the checkpoint is the one `wenxin quantize
 * --weights q4` saves from the bf16 model). Memory holds one stacked expert tensor at a time. With
 * `tiles`, the checkpoint is then re-saved in the active kernel path's tiles (`quantizeModel` with
 * `tiles`; one directory a path, so a run forced to another path with `--isa` maps its own tiles too),
 * so the engine maps the weights in place instead of repacking them into anonymous memory at load, and
 * the plain copy is deleted: a later path's tiles are re-saved from an earlier path's.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import path from "node:path";

import { quantizeModel, systemInfo, WenxinError } from "@wenxin/engine";
import {
  encodeGgufTensor,
  encodeSafetensorsHeader,
  ggufTokenizerMetadata,
  toBf16Bits,
  withProgress,
  writeGguf,
  type GgufRawTensor,
} from "@wenxin/engine/internal";

import {
  randomModelGgufMetadata,
  tensorSpecs,
  TensorValueStream,
  writeModelFiles,
  type HfConfig,
} from "./random_model.js";

const GGML_F32 = 0;
const GGML_Q4_0 = 2;
const Q4_0_BLOCK = 18; // fp16 scale + 16 bytes of nibbles per 32 values
const ROWS_PER_PIECE = 4096; // rows generated and encoded at a time (the 103,424-row embedding)

/** The q4 checkpoint's two tensors for Q4_0 blocks of `rows` × `k`: plain-layout nibbles and fp16 block scales. */
export function q4_0ToCheckpoint(blocks: Uint8Array, rows: number, k: number): { qweight: Buffer; qscale: Buffer } {
  const nb = k / 32;
  const qweight = Buffer.alloc((rows * k) / 2);
  const qscale = Buffer.alloc(rows * nb * 2);
  const q = new Uint8Array(k);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nb; b++) {
      const src = (r * nb + b) * Q4_0_BLOCK;
      qscale[(r * nb + b) * 2] = blocks[src]!;
      qscale[(r * nb + b) * 2 + 1] = blocks[src + 1]!;
      for (let j = 0; j < 16; j++) {
        const byte = blocks[src + 2 + j]!;
        q[b * 32 + j] = byte & 0x0f;
        q[b * 32 + 16 + j] = byte >> 4;
      }
    }
    // The engine's layout (kernels/quant_formats.h): per 64 values, byte j = value j | value j + 32 << 4;
    // a trailing 32-value half chunk pairs j and j + 16.
    const row = (r * k) / 2;
    for (let c = 0; c * 64 < k; c++) {
      const half = Math.min(64, k - c * 64) / 2;
      for (let j = 0; j < half; j++) qweight[row + c * 32 + j] = q[c * 64 + j]! | (q[c * 64 + j + half]! << 4);
    }
  }
  return { qweight, qscale };
}

interface CheckpointEntry {
  name: string;
  dtype: "U8" | "F16" | "BF16" | "F32";
  shape: number[];
  byteLength: number;
}

function q4Entries(base: string, rows: number, k: number): CheckpointEntry[] {
  return [
    { name: `${base}.qweight`, dtype: "U8", shape: [rows, k / 2], byteLength: (rows * k) / 2 },
    { name: `${base}.qscale`, dtype: "F16", shape: [rows, k / 32], byteLength: (rows * k) / 16 },
  ];
}

function bf16Bytes(x: Float32Array): Buffer {
  const b = Buffer.alloc(x.length * 2);
  for (let i = 0; i < x.length; i++) b.writeUInt16LE(toBf16Bits(x[i]!), i * 2);
  return b;
}

export interface BuiltQ4Model {
  /** The q4 checkpoint directory (config.json with `wenxin_quantization`, tokenizer, model.safetensors). */
  dir: string;
  /** The Q4_0 GGUF file. */
  gguf: string;
}

/**
 * Writes (or reuses) `outDir/<name>/q4` (with `tiles`: `q4-tiles-<kernel path>`, the plain copy deleted) and
 * `outDir/<name>/Q4_0.gguf` for `config`.
 */
export async function buildRandomQ4Model(
  name: string,
  config: HfConfig,
  outDir: string,
  fixtureDir: string,
  options: { tiles?: boolean; threads?: number } = {},
): Promise<BuiltQ4Model> {
  const root = path.join(outDir, name);
  const dir = path.join(root, "q4");
  const tiled = path.join(root, `q4-tiles-${systemInfo().kernels.active}`);
  const gguf = path.join(root, "Q4_0.gguf");
  const stampFile = path.join(root, "q4.stamp");
  const stamp = JSON.stringify(config);
  const want = options.tiles ? tiled : dir;
  const built = existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp && existsSync(gguf);
  if (built && existsSync(path.join(want, "model.safetensors"))) return { dir: want, gguf };
  const source = built
    ? [dir, ...tileDirs(root)].find((d) => existsSync(path.join(d, "model.safetensors")))
    : undefined;
  if (options.tiles && source !== undefined)
    return { dir: await retile(source, tiled, { threads: options.threads, deleteSource: source === dir }), gguf };
  mkdirSync(dir, { recursive: true });
  writeModelFiles(dir, config, fixtureDir, { wenxin_quantization: { weights: "q4" } });

  const tied = config.tie_word_embeddings !== false;
  const plan = tensorSpecs(config);
  // The checkpoint's tensors in the order they are produced (the GGUF plan's order).
  const entries: CheckpointEntry[] = [];
  for (const s of plan) {
    const base = (n: string) => n.slice(0, -".weight".length);
    if (s.gguf === "token_embd.weight") {
      entries.push({ name: s.hf, dtype: "BF16", shape: s.shape, byteLength: s.shape[0]! * s.shape[1]! * 2 });
      if (tied) entries.push(...q4Entries("lm_head", s.shape[0]!, s.shape[1]!));
    } else if (s.kind === "matrix" && s.parts) {
      for (const part of s.parts) entries.push(...q4Entries(base(part), s.shape[1]!, s.shape[2]!));
    } else if (s.kind === "matrix") {
      entries.push(...q4Entries(base(s.hf), s.shape[0]!, s.shape[1]!));
    } else {
      const numel = s.shape.reduce((a, b) => a * b, 1);
      const shape = s.kind === "bias" ? [1, ...s.shape] : s.shape; // [1, E] in the checkpoint, [E] in GGUF
      entries.push(
        s.kind === "norm"
          ? { name: s.hf, dtype: "BF16", shape, byteLength: numel * 2 }
          : { name: s.hf, dtype: "F32", shape, byteLength: numel * 4 },
      );
    }
  }
  const { header, dataBytes } = encodeSafetensorsHeader(entries, { format: "pt", "wenxin.weights": "q4" });
  const fd = openSync(path.join(dir, "model.safetensors"), "w");
  let written = 0;
  const emit = (b: Uint8Array) => {
    writeSync(fd, b);
    written += b.length;
  };

  // Values of `rows` rows of `k` generated piece by piece: the Q4_0 blocks (and, for the embedding, its bf16 bytes).
  const q4Blocks = (stream: TensorValueStream, rows: number, k: number, bf16?: (b: Buffer) => void): Buffer => {
    const out = Buffer.alloc((rows * k * Q4_0_BLOCK) / 32);
    for (let r0 = 0; r0 < rows; r0 += ROWS_PER_PIECE) {
      const n = Math.min(ROWS_PER_PIECE, rows - r0);
      const x = stream.next(new Float32Array(n * k));
      encodeGgufTensor("Q4_0", x).copy(out, (r0 * k * Q4_0_BLOCK) / 32);
      bf16?.(bf16Bytes(x));
    }
    return out;
  };
  const emitQ4 = (blocks: Buffer, rows: number, k: number) => {
    const { qweight, qscale } = q4_0ToCheckpoint(blocks, rows, k);
    emit(qweight);
    emit(qscale);
  };

  const tensors: GgufRawTensor[] = plan.map((s) => {
    const numel = s.shape.reduce((a, b) => a * b, 1);
    if (s.kind !== "matrix")
      return {
        name: s.gguf,
        shape: s.shape,
        ggmlType: GGML_F32,
        bytes: numel * 4,
        data: () => {
          const x = new TensorValueStream(s.hf, s.kind).next(new Float32Array(numel));
          emit(s.kind === "norm" ? bf16Bytes(x) : new Uint8Array(x.buffer));
          return new Uint8Array(x.buffer);
        },
      };
    return {
      name: s.gguf,
      shape: s.shape,
      ggmlType: GGML_Q4_0,
      bytes: (numel * Q4_0_BLOCK) / 32,
      data: () => {
        if (s.parts) {
          const [, rows, k] = s.shape as [number, number, number];
          const per = (rows * k * Q4_0_BLOCK) / 32;
          const all = Buffer.alloc(per * s.parts.length);
          s.parts.forEach((part, e) => {
            const blocks = q4Blocks(new TensorValueStream(part, s.kind), rows, k);
            emitQ4(blocks, rows, k);
            blocks.copy(all, e * per);
          });
          return all;
        }
        const [rows, k] = s.shape as [number, number];
        if (s.gguf === "token_embd.weight") {
          const blocks = q4Blocks(new TensorValueStream(s.hf, s.kind), rows, k, emit);
          if (tied) emitQ4(blocks, rows, k);
          return blocks;
        }
        const blocks = q4Blocks(new TensorValueStream(s.hf, s.kind), rows, k);
        emitQ4(blocks, rows, k);
        return blocks;
      },
    };
  });

  const metadata = {
    ...randomModelGgufMetadata(config, "Q4_0"),
    ...(await ggufTokenizerMetadata(dir, config.vocab_size)),
  };
  try {
    writeSync(fd, header);
    await withProgress(`building ${name}: q4 checkpoint and Q4_0 GGUF`, (line) => {
      let done = 0;
      writeGguf(
        gguf,
        metadata,
        tensors.map((t) => ({
          ...t,
          data: () => {
            line.update(++done, tensors.length, "tensors");
            return t.data();
          },
        })),
      );
    });
  } finally {
    closeSync(fd);
  }
  if (written !== dataBytes) throw new Error(`${name}: wrote ${written} checkpoint bytes, expected ${dataBytes}`);
  writeFileSync(stampFile, stamp);
  return {
    dir: options.tiles ? await retile(dir, tiled, { threads: options.threads, deleteSource: true }) : dir,
    gguf,
  };
}

/** The `q4-tiles-<path>` directories under `root`, one per kernel path a run has used. */
function tileDirs(root: string): string[] {
  return readdirSync(root)
    .filter((name) => name.startsWith("q4-tiles-"))
    .map((name) => path.join(root, name));
}

/**
 * Re-saves the q4 checkpoint `dir` (plain, or another path's tiles) in the active kernels' tiles at
 * `out`, then deletes `dir`'s weights if asked (the plain copy); keeps `dir` where the kernels have no
 * tiles (the generic path).
 */
async function retile(
  dir: string,
  out: string,
  { threads, deleteSource }: { threads: number | undefined; deleteSource: boolean },
): Promise<string> {
  rmSync(out, { recursive: true, force: true });
  try {
    await withProgress(`re-saving ${dir} in the ${path.basename(out)} layout`, () =>
      quantizeModel(dir, out, { weights: "q4", tiles: true, ...(threads ? { threads } : {}) }),
    );
  } catch (err) {
    if (!(err instanceof WenxinError && err.code === "ERR_WENXIN_INVALID_ARGUMENT")) throw err;
    rmSync(out, { recursive: true, force: true });
    return dir; // no tiles on these kernels: the engine reads `dir` as it is laid out
  }
  if (deleteSource) rmSync(path.join(dir, "model.safetensors"));
  return out;
}
