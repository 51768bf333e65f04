/**
 * The TypeScript side's only safetensors reader and writer: headers parsed and bounds-checked in one
 * place (parseSafetensorsHeader), single tensors read as float32 (F32/F16/BF16) without mapping the
 * whole file, files written with 8-byte-aligned data. Used by LoRA adapters, merged checkpoints, GGUF
 * conversion, `wenxin inspect`, the benchmarks and the test helpers; the engine's own weights are
 * mapped natively and never pass through here.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";

import { WenxinError, fileReadError } from "../errors.js";
import { widenHalf } from "../gguf/half.js";

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
  /** Where the data section starts: 8 + the JSON header's length. */
  dataStart: number;
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

/** The header length in a file's first 8 bytes, checked against the file's size. */
function headerLength(file: string, first8: Uint8Array, size: number): number {
  if (size < 8 || first8.length < 8) throw invalid(file, "shorter than its 8-byte header length");
  const headerLen = Number(Buffer.from(first8.buffer, first8.byteOffset, 8).readBigUInt64LE(0));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > size)
    throw invalid(file, `header length ${headerLen} exceeds the file`);
  return headerLen;
}

/**
 * The one safetensors header parser: the JSON header's tensors, each entry's dtype, shape and byte
 * range checked against the file's size. `headerJson` is the header's bytes (after the 8-byte length).
 */
export function parseSafetensorsHeader(file: string, headerJson: Uint8Array, size: number): SafetensorsHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(headerJson.buffer, headerJson.byteOffset, headerJson.length).toString("utf8"));
  } catch {
    throw invalid(file, "header is not JSON");
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw invalid(file, "header is not a JSON object");
  const dataStart = 8 + headerJson.length;
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
  return { file, tensors, metadata, dataStart };
}

/** Parses the JSON header of a safetensors file and checks every tensor's byte range. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const fh = await openForRead(file);
  try {
    const { size } = await fh.stat();
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    const headerLen = headerLength(file, lenBuf, size);
    const headerBuf = Buffer.alloc(headerLen);
    await fh.read(headerBuf, 0, headerLen, 8);
    return parseSafetensorsHeader(file, headerBuf, size);
  } finally {
    await fh.close();
  }
}

/** readSafetensorsHeader for synchronous callers (GGUF conversion, the benchmarks' model builder). */
export function readSafetensorsHeaderSync(file: string): SafetensorsHeader {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    throw fileReadError(file, err);
  }
  try {
    const { size } = fstatSync(fd);
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = headerLength(file, lenBuf, size);
    const headerBuf = Buffer.alloc(headerLen);
    readSync(fd, headerBuf, 0, headerLen, 8);
    return parseSafetensorsHeader(file, headerBuf, size);
  } finally {
    closeSync(fd);
  }
}

/** A whole safetensors file already in memory: its header and each tensor's bytes (views into `buf`). */
export function parseSafetensorsBuffer(
  file: string,
  buf: Uint8Array,
): { header: SafetensorsHeader; bytes: (info: TensorInfo) => Uint8Array } {
  const headerLen = headerLength(file, buf.subarray(0, 8), buf.length);
  const header = parseSafetensorsHeader(file, buf.subarray(8, 8 + headerLen), buf.length);
  return { header, bytes: (info) => buf.subarray(info.begin, info.end) };
}

/** A tensor's bytes (or whole rows of them) as float32: F32, F16 and BF16 tensors. */
export function decodeTensorF32(file: string, info: TensorInfo, bytes: Uint8Array): Float32Array {
  switch (info.dtype) {
    case "F32":
      return new Float32Array(new Uint8Array(bytes).buffer); // a copy: aligned, and not a view of a pooled Buffer
    case "BF16":
    case "F16":
      return widenHalf(bytes, info.dtype);
    default:
      throw new WenxinError(
        "ERR_WENXIN_UNSUPPORTED_DTYPE",
        `${file}: tensor '${info.name}' is ${info.dtype}; expected F32, F16 or BF16`,
        { subject: info.name, expected: ["F32", "F16", "BF16"], actual: info.dtype },
      );
  }
}

/** The tensor's values as float32 (F32, F16 and BF16 tensors). */
export async function readTensorF32(file: string, info: TensorInfo): Promise<Float32Array> {
  const fh = await openForRead(file);
  try {
    const bytes = Buffer.alloc(info.end - info.begin);
    await fh.read(bytes, 0, bytes.length, info.begin);
    return decodeTensorF32(file, info, bytes);
  } finally {
    await fh.close();
  }
}

/** Rows [r0, r0 + rows) of a tensor (all rows by default) as float32, read synchronously. */
export function readTensorRowsF32Sync(
  file: string,
  info: TensorInfo,
  r0 = 0,
  rows?: number,
): { shape: number[]; data: Float32Array } {
  const width = DTYPE_BYTES[info.dtype] ?? 0;
  const rowElems = info.shape.slice(1).reduce((a, b) => a * b, 1);
  const n = rows ?? (info.shape[0] ?? 1) - r0;
  const begin = info.begin + r0 * rowElems * width;
  const length = n * rowElems * width;
  if (r0 < 0 || n < 0 || begin + length > info.end)
    throw invalid(file, `rows ${r0}..${r0 + n} lie outside tensor '${info.name}'`);
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    throw fileReadError(file, err);
  }
  const bytes = Buffer.alloc(length);
  try {
    if (length > 0 && readSync(fd, bytes, 0, length, begin) !== length)
      throw invalid(file, `ended inside tensor '${info.name}'`);
  } finally {
    closeSync(fd);
  }
  return { shape: [n, ...info.shape.slice(1)], data: decodeTensorF32(file, info, bytes) };
}

/** A tensor to write: either new float32 data or a byte range copied from another file. */
export type TensorSource =
  | { name: string; dtype: "F32"; shape: number[]; data: Float32Array }
  | { name: string; dtype: string; shape: number[]; copyFrom: { file: string; begin: number; end: number } };

function byteLength(t: TensorSource): number {
  return "data" in t ? t.data.byteLength : t.copyFrom.end - t.copyFrom.begin;
}

/** A tensor's place in a header to write: its bytes follow the previous tensor's. */
export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  byteLength: number;
}

/**
 * The 8-byte length and the JSON header for tensors written in this order, space-padded so the
 * data that follows starts 8-byte aligned. Returns the header and the data size.
 */
export function encodeSafetensorsHeader(
  tensors: readonly TensorEntry[],
  metadata?: Record<string, string>,
): { header: Buffer; dataBytes: number } {
  const json: Record<string, unknown> = {};
  if (metadata) json.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    json[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  let text = JSON.stringify(json);
  text += " ".repeat((8 - (Buffer.byteLength(text) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  return { header: Buffer.concat([head, Buffer.from(text, "utf8")]), dataBytes: offset };
}

/** A whole safetensors file in memory (small files: test checkpoints, goldens). */
export function encodeSafetensors(
  tensors: readonly { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[],
  metadata?: Record<string, string>,
): Buffer {
  const { header } = encodeSafetensorsHeader(
    tensors.map((t) => ({ ...t, byteLength: t.bytes.length })),
    metadata,
  );
  return Buffer.concat([header, ...tensors.map((t) => t.bytes)]);
}

/** Writes a safetensors file, streaming copied tensors in 16 MiB pieces. Returns the data size. */
export async function writeSafetensors(
  file: string,
  tensors: TensorSource[],
  metadata?: Record<string, string>,
): Promise<number> {
  const { header, dataBytes } = encodeSafetensorsHeader(
    tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: byteLength(t) })),
    metadata,
  );
  const out = await open(file, "w");
  const sources = new Map<string, FileHandle>();
  try {
    await out.write(header);
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
  return dataBytes;
}
