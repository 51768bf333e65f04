/**
 * Reads safetensors headers and single tensors (F32/F16/BF16 → Float32Array) without mapping the
 * whole file, and writes files in the same format. Used for LoRA adapters and merged checkpoints;
 * the engine's own weights are mapped natively and never pass through here.
 */
import { open, type FileHandle } from "node:fs/promises";

import { WenxinError, fileReadError } from "../errors.js";
import { fromBf16Bits, fromF16Bits } from "../gguf/half.js";

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte range of the tensor's data in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string> | undefined;
}

const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};
/** Headers larger than this are not safetensors files we would write or read. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function invalid(file: string, why: string): WenxinError {
  return new WenxinError("ERR_WENXIN_INVALID_FILE", `${file} is not a valid safetensors file: ${why}`, {
    subject: file,
  });
}

async function openForRead(file: string): Promise<FileHandle> {
  try {
    return await open(file, "r");
  } catch (err) {
    throw fileReadError(file, err);
  }
}

/** Parses the JSON header of a safetensors file and checks every tensor's byte range. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const fh = await openForRead(file);
  try {
    const { size } = await fh.stat();
    if (size < 8) throw invalid(file, "shorter than its 8-byte header length");
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > size)
      throw invalid(file, `header length ${headerLen} exceeds the file`);
    const headerBuf = Buffer.alloc(headerLen);
    await fh.read(headerBuf, 0, headerLen, 8);
    let raw: unknown;
    try {
      raw = JSON.parse(headerBuf.toString("utf8"));
    } catch {
      throw invalid(file, "header is not JSON");
    }
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw invalid(file, "header is not a JSON object");
    const dataStart = 8 + headerLen;
    const tensors = new Map<string, TensorInfo>();
    let metadata: Record<string, string> | undefined;
    for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
      if (name === "__metadata__") {
        metadata = value as Record<string, string>;
        continue;
      }
      const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const shape = v.shape;
      const offsets = v.data_offsets;
      if (
        typeof v.dtype !== "string" ||
        !Array.isArray(shape) ||
        !shape.every((d) => Number.isInteger(d) && d >= 0) ||
        !Array.isArray(offsets) ||
        offsets.length !== 2 ||
        !offsets.every((o) => Number.isInteger(o) && o >= 0)
      )
        throw invalid(file, `tensor '${name}' has a malformed entry`);
      const [b, e] = offsets as [number, number];
      const elements = (shape as number[]).reduce((a, d) => a * d, 1);
      const width = DTYPE_BYTES[v.dtype];
      if (e < b || dataStart + e > size) throw invalid(file, `tensor '${name}' lies outside the file`);
      if (width !== undefined && e - b !== elements * width)
        throw invalid(
          file,
          `tensor '${name}' has ${e - b} bytes, expected ${elements * width} for ${v.dtype}${JSON.stringify(shape)}`,
        );
      tensors.set(name, { name, dtype: v.dtype, shape: shape as number[], begin: dataStart + b, end: dataStart + e });
    }
    return { file, tensors, metadata };
  } finally {
    await fh.close();
  }
}

function halfToF32(bytes: Buffer, widen: (bits: number) => number): Float32Array {
  const out = new Float32Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = widen(bytes.readUInt16LE(2 * i));
  return out;
}

/** The tensor's values as float32 (F32, F16 and BF16 tensors). */
export async function readTensorF32(file: string, info: TensorInfo): Promise<Float32Array> {
  const fh = await openForRead(file);
  try {
    const bytes = Buffer.alloc(info.end - info.begin);
    await fh.read(bytes, 0, bytes.length, info.begin);
    switch (info.dtype) {
      case "F32":
        return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      case "BF16":
        return halfToF32(bytes, fromBf16Bits);
      case "F16":
        return halfToF32(bytes, fromF16Bits);
      default:
        throw new WenxinError(
          "ERR_WENXIN_UNSUPPORTED_DTYPE",
          `${file}: tensor '${info.name}' is ${info.dtype}; expected F32, F16 or BF16`,
          {
            subject: info.name,
            expected: ["F32", "F16", "BF16"],
            actual: info.dtype,
          },
        );
    }
  } finally {
    await fh.close();
  }
}

/** A tensor to write: either new float32 data or a byte range copied from another file. */
export type TensorSource =
  | { name: string; dtype: "F32"; shape: number[]; data: Float32Array }
  | { name: string; dtype: string; shape: number[]; copyFrom: { file: string; begin: number; end: number } };

function byteLength(t: TensorSource): number {
  return "data" in t ? t.data.byteLength : t.copyFrom.end - t.copyFrom.begin;
}

/** Writes a safetensors file, streaming copied tensors in 16 MiB pieces. Returns the data size. */
export async function writeSafetensors(
  file: string,
  tensors: TensorSource[],
  metadata?: Record<string, string>,
): Promise<number> {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const n = byteLength(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // keeps tensor data 8-byte aligned
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));

  const out = await open(file, "w");
  const sources = new Map<string, FileHandle>();
  try {
    await out.write(head);
    await out.write(Buffer.from(json, "utf8"));
    const piece = Buffer.alloc(16 * 1024 * 1024);
    for (const t of tensors) {
      if ("data" in t) {
        await out.write(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        continue;
      }
      let src = sources.get(t.copyFrom.file);
      if (!src) {
        src = await openForRead(t.copyFrom.file);
        sources.set(t.copyFrom.file, src);
      }
      for (let pos = t.copyFrom.begin; pos < t.copyFrom.end;) {
        const n = Math.min(piece.length, t.copyFrom.end - pos);
        const { bytesRead } = await src.read(piece, 0, n, pos);
        if (bytesRead <= 0) throw invalid(t.copyFrom.file, `ended inside tensor '${t.name}'`);
        await out.write(piece.subarray(0, bytesRead));
        pos += bytesRead;
      }
    }
  } finally {
    await out.close();
    for (const s of sources.values()) await s.close();
  }
  return offset;
}
