/**
 * Writes GGUF v3 files (llama.cpp's format): metadata, tensor infos, aligned tensor data.
 * Tensors are given in PyTorch shape order; GGUF stores dims innermost first.
 * Tensor types: F32, F16, BF16, Q8_0 and Q4_0. The Q8_0 / Q4_0 blocks are computed with the same
 * float32 arithmetic and rounding as the engine's own q8 / q4 quantizer (fp16-rounded scale, round
 * half to even), so a GGUF file and `weights: "q8" | "q4"` hold identical blocks for the same weights.
 */
import { closeSync, openSync, writeSync } from "node:fs";

import { fromF16Bits, toBf16Bits, toF16Bits } from "./half.js";

export type GgufTensorType = "F32" | "F16" | "BF16" | "Q8_0" | "Q4_0";
const GGML_TYPE: Record<GgufTensorType, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, BF16: 30 };

export type GgufValue =
  | { type: "u32"; value: number }
  | { type: "i32"; value: number }
  | { type: "f32"; value: number }
  | { type: "u64"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "string[]"; value: string[] }
  | { type: "f32[]"; value: Float32Array | number[] }
  | { type: "i32[]"; value: Int32Array | number[] };

export interface GgufTensor {
  name: string;
  /** PyTorch order, outermost first ([rows, cols] for a matrix). */
  shape: number[];
  type: GgufTensorType;
  /** Produces the float values, row-major, when the tensor is written (keeps memory low). */
  values: () => Float32Array;
}

/** A tensor whose bytes are already encoded, in any ggml type (e.g. K-quants, or copied from another file). */
export interface GgufRawTensor {
  name: string;
  shape: number[];
  /** ggml type id (see GGML_TYPES). */
  ggmlType: number;
  data: () => Uint8Array;
  /** Byte size of the data (checked when written). */
  bytes: number;
}

const ALIGNMENT = 32;

function bytesOf(type: GgufTensorType, numel: number): number {
  switch (type) {
    case "F32":
      return numel * 4;
    case "F16":
    case "BF16":
      return numel * 2;
    case "Q8_0":
      return (numel / 32) * 34;
    case "Q4_0":
      return (numel / 32) * 18;
  }
}

class ByteSink {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.push(b);
  }
  take(): Buffer {
    const all = Buffer.concat(this.chunks);
    this.chunks = [];
    return all;
  }
}

function writeValue(sink: ByteSink, v: GgufValue): void {
  switch (v.type) {
    case "u32":
      sink.u32(4);
      sink.u32(v.value);
      return;
    case "i32":
      sink.u32(5);
      sink.i32(v.value);
      return;
    case "u64":
      sink.u32(10);
      sink.u64(v.value);
      return;
    case "f32":
      sink.u32(6);
      sink.f32(v.value);
      return;
    case "bool":
      sink.u32(7);
      sink.push(Buffer.from([v.value ? 1 : 0]));
      return;
    case "string":
      sink.u32(8);
      sink.str(v.value);
      return;
    case "string[]":
      sink.u32(9);
      sink.u32(8);
      sink.u64(v.value.length);
      for (const s of v.value) sink.str(s);
      return;
    case "f32[]":
      sink.u32(9);
      sink.u32(6);
      sink.u64(v.value.length);
      for (const x of v.value) sink.f32(x);
      return;
    case "i32[]":
      sink.u32(9);
      sink.u32(5);
      sink.u64(v.value.length);
      for (const x of v.value) sink.i32(x);
      return;
  }
}

const fr = Math.fround;

/** Round half to even, like C's lrintf in the default rounding mode. */
function rint(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff !== 0.5) return diff < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Q8_0: per 32 values an fp16 scale d = max|x| / 127 and int8 quants round(x / d). */
function encodeQ8_0(x: Float32Array, out: Buffer): void {
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b * 32 + i]!));
    const bits = toF16Bits(fr(amax / 127));
    const d = fromF16Bits(bits);
    const inv = d > 0 ? fr(1 / d) : 0;
    out.writeUInt16LE(bits, b * 34);
    for (let i = 0; i < 32; i++)
      out.writeInt8(Math.max(-127, Math.min(127, rint(fr(x[b * 32 + i]! * inv)))), b * 34 + 2 + i);
  }
}

/** Adding and taking away 1.5 · 2^52 rounds a double below 2^51 in magnitude to an integer, half to even. */
const ROUNDER = 6755399441055744;

/** One Q4_0 nibble: round(v / d) (half to even) clamped to -8..7, plus 8. */
function q4Nibble(v: number, inv: number): number {
  const r = fr(v * inv) + ROUNDER - ROUNDER;
  return (r < -8 ? -8 : r > 7 ? 7 : r) + 8;
}

/** Q4_0: per 32 values an fp16 scale d = (the largest-magnitude value) / -8, nibbles q + 8; byte j = j | (j + 16) << 4. */
function encodeQ4_0(x: Float32Array, out: Uint8Array): void {
  for (let o = 0, base = 0; base < x.length; o += 18, base += 32) {
    let amax = 0;
    let max = 0;
    for (let i = base; i < base + 32; i++) {
      const v = x[i]!;
      const a = v < 0 ? -v : v;
      if (a > amax) {
        amax = a;
        max = v;
      }
    }
    const bits = toF16Bits(fr(max / -8));
    const d = fromF16Bits(bits);
    const inv = d !== 0 ? fr(1 / d) : 0;
    out[o] = bits & 0xff;
    out[o + 1] = bits >>> 8;
    for (let j = 0; j < 16; j++) out[o + 2 + j] = q4Nibble(x[base + j]!, inv) | (q4Nibble(x[base + 16 + j]!, inv) << 4);
  }
}

/** Encodes one tensor's values in its GGUF type. */
export function encodeTensor(type: GgufTensorType, x: Float32Array): Buffer {
  const out = Buffer.alloc(bytesOf(type, x.length));
  if (type === "F32") Buffer.from(x.buffer, x.byteOffset, x.byteLength).copy(out);
  else if (type === "F16") for (let i = 0; i < x.length; i++) out.writeUInt16LE(toF16Bits(x[i]!), i * 2);
  else if (type === "BF16") for (let i = 0; i < x.length; i++) out.writeUInt16LE(toBf16Bits(x[i]!), i * 2);
  else if (type === "Q8_0") encodeQ8_0(x, out);
  else encodeQ4_0(x, out);
  return out;
}

/** Whether `type` can hold rows of `cols` values (the block types need whole 32-value blocks). */
export function fitsType(type: GgufTensorType, cols: number): boolean {
  return (type !== "Q8_0" && type !== "Q4_0") || cols % 32 === 0;
}

/** Writes `file`: `general.alignment` plus `metadata`, then the tensors in order (each produced when written). */
export function writeGguf(
  file: string,
  metadata: Record<string, GgufValue>,
  tensors: (GgufTensor | GgufRawTensor)[],
): void {
  const head = new ByteSink();
  head.push(Buffer.from("GGUF", "ascii"));
  head.u32(3);
  head.u64(tensors.length);
  head.u64(Object.keys(metadata).length + 1);
  head.str("general.alignment");
  writeValue(head, { type: "u32", value: ALIGNMENT });
  for (const [key, value] of Object.entries(metadata)) {
    head.str(key);
    writeValue(head, value);
  }
  let offset = 0;
  for (const t of tensors) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if ("type" in t && !fitsType(t.type, t.shape.at(-1)!))
      throw new Error(`${t.name}: ${t.type} needs rows that are a multiple of 32, got ${t.shape.at(-1)}`);
    head.str(t.name);
    head.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) head.u64(d);
    head.u32("type" in t ? GGML_TYPE[t.type] : t.ggmlType);
    head.u64(offset);
    offset += Math.ceil(("type" in t ? bytesOf(t.type, numel) : t.bytes) / ALIGNMENT) * ALIGNMENT;
  }
  const fd = openSync(file, "w");
  try {
    const header = head.take();
    writeSync(fd, header);
    writeSync(fd, Buffer.alloc((ALIGNMENT - (header.length % ALIGNMENT)) % ALIGNMENT));
    for (const t of tensors) {
      const data = "type" in t ? encodeTensor(t.type, t.values()) : t.data();
      if (!("type" in t) && data.length !== t.bytes)
        throw new Error(`${t.name}: ${data.length} bytes given, ${t.bytes} declared`);
      writeSync(fd, data);
      writeSync(fd, Buffer.alloc((ALIGNMENT - (data.length % ALIGNMENT)) % ALIGNMENT));
    }
  } finally {
    closeSync(fd);
  }
}
