// Reference K-quant blocks (Q4_K, Q5_K, Q6_K), written for the GGUF tests from ggml's block definitions:
// a simple encoder (min/max per sub-block, not ggml's search; any valid block is fine for a loader
// test) and a decoder that mirrors the float32 arithmetic of a straightforward C dequantizer.
import { fromF16Bits, toF16Bits } from "../../packages/engine/src/gguf/half.js";

export const QK_K = 256;
export const KQUANT = {
  Q4_K: { id: 12, blockBytes: 144 },
  Q5_K: { id: 13, blockBytes: 176 },
  Q6_K: { id: 14, blockBytes: 210 },
} as const;
export type KQuantType = keyof typeof KQUANT;

const fr = Math.fround;
const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

/** Q4_K / Q5_K: 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes. */
function scaleMin(s: Uint8Array, j: number): [number, number] {
  if (j < 4) return [s[j]! & 63, s[j + 4]! & 63];
  return [(s[j + 4]! & 0x0f) | ((s[j - 4]! >> 6) << 4), (s[j + 4]! >> 4) | ((s[j]! >> 6) << 4)];
}

function packScaleMin(sc: number[], m: number[]): Uint8Array {
  const s = new Uint8Array(12);
  for (let j = 0; j < 4; j++) {
    s[j] = (sc[j]! & 63) | ((sc[j + 4]! >> 4) << 6);
    s[j + 4] = (m[j]! & 63) | ((m[j + 4]! >> 4) << 6);
    s[j + 8] = (sc[j + 4]! & 0x0f) | ((m[j + 4]! & 0x0f) << 4);
  }
  return s;
}

/** Asymmetric 8 × 32 sub-blocks (Q4_K: 15 levels, Q5_K: 31 levels). */
function encodeAsym(
  x: Float32Array,
  levels: number,
): { d: number; dmin: number; sc: number[]; m: number[]; q: number[] } {
  const scale: number[] = [],
    min: number[] = [];
  for (let j = 0; j < 8; j++) {
    const sub = x.subarray(32 * j, 32 * j + 32);
    const lo = Math.min(0, ...sub),
      hi = Math.max(...sub);
    scale.push((hi - lo) / levels);
    min.push(-lo);
  }
  const dBits = toF16Bits(Math.max(...scale) / 63),
    mBits = toF16Bits(Math.max(...min) / 63);
  const d = fromF16Bits(dBits),
    dmin = fromF16Bits(mBits);
  const sc = scale.map((v) => (d > 0 ? clamp(Math.round(v / d), 0, 63) : 0));
  const m = min.map((v) => (dmin > 0 ? clamp(Math.round(v / dmin), 0, 63) : 0));
  const q: number[] = [];
  for (let j = 0; j < 8; j++)
    for (let i = 0; i < 32; i++) {
      const step = d * sc[j]!;
      q.push(step > 0 ? clamp(Math.round((x[32 * j + i]! + dmin * m[j]!) / step), 0, levels) : 0);
    }
  return { d: dBits, dmin: mBits, sc, m, q };
}

export function encodeBlock(type: KQuantType, x: Float32Array): Uint8Array {
  const b = new Uint8Array(KQUANT[type].blockBytes);
  const dv = new DataView(b.buffer);
  if (type === "Q6_K") {
    const scale: number[] = [];
    for (let k = 0; k < 16; k++) {
      let best = 0;
      for (const v of x.subarray(16 * k, 16 * k + 16)) if (Math.abs(v) > Math.abs(best)) best = v;
      scale.push(best / -32);
    }
    const dBits = toF16Bits(Math.max(...scale.map(Math.abs)) / 127);
    const d = fromF16Bits(dBits);
    const sc = scale.map((v) => (d > 0 ? clamp(Math.round(v / d), -128, 127) : 0));
    const q = Array.from(x, (v, i) => {
      const step = d * sc[i >> 4]!;
      return (step !== 0 ? clamp(Math.round(v / step), -32, 31) : 0) + 32;
    });
    for (let h = 0; h < 2; h++)
      for (let l = 0; l < 32; l++) {
        const e = 128 * h + l;
        b[64 * h + l] = (q[e]! & 0x0f) | ((q[e + 64]! & 0x0f) << 4);
        b[64 * h + l + 32] = (q[e + 32]! & 0x0f) | ((q[e + 96]! & 0x0f) << 4);
        b[128 + 32 * h + l] =
          (q[e]! >> 4) | ((q[e + 32]! >> 4) << 2) | ((q[e + 64]! >> 4) << 4) | ((q[e + 96]! >> 4) << 6);
      }
    sc.forEach((v, k) => dv.setInt8(192 + k, v));
    dv.setUint16(208, dBits, true);
    return b;
  }
  const five = type === "Q5_K";
  const { d, dmin, sc, m, q } = encodeAsym(x, five ? 31 : 15);
  dv.setUint16(0, d, true);
  dv.setUint16(2, dmin, true);
  b.set(packScaleMin(sc, m), 4);
  const qs = five ? 48 : 16;
  for (let g = 0; g < 4; g++)
    for (let l = 0; l < 32; l++) {
      const lo = q[64 * g + l]!,
        hi = q[64 * g + 32 + l]!;
      b[qs + 32 * g + l] = (lo & 0x0f) | ((hi & 0x0f) << 4);
      if (five) b[16 + l]! |= ((lo >> 4) << (2 * g)) | ((hi >> 4) << (2 * g + 1));
    }
  return b;
}

export function decodeBlock(type: KQuantType, b: Uint8Array): Float32Array {
  const y = new Float32Array(QK_K);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (type === "Q6_K") {
    const d = fromF16Bits(dv.getUint16(208, true));
    for (let e = 0; e < QK_K; e++) {
      const h = e >> 7,
        i = (e >> 5) & 3,
        l = e & 31;
      const byte = b[64 * h + l + 32 * (i & 1)]!;
      const low = i < 2 ? byte & 0x0f : byte >> 4;
      const high = (b[128 + 32 * h + l]! >> (2 * i)) & 3;
      const sc = dv.getInt8(192 + (e >> 4));
      y[e] = fr(fr(d * sc) * ((low | (high << 4)) - 32));
    }
    return y;
  }
  const five = type === "Q5_K";
  const d = fromF16Bits(dv.getUint16(0, true)),
    dmin = fromF16Bits(dv.getUint16(2, true));
  const scales = b.subarray(4, 16);
  const qs = five ? 48 : 16;
  for (let e = 0; e < QK_K; e++) {
    const j = e >> 5,
      g = j >> 1,
      l = e & 31;
    const byte = b[qs + 32 * g + l]!;
    let q = j & 1 ? byte >> 4 : byte & 0x0f;
    if (five && (b[16 + l]! >> j) & 1) q += 16;
    const [sc, m] = scaleMin(scales, j);
    y[e] = fr(fr(fr(d * sc) * q) - fr(dmin * m));
  }
  return y;
}

/** A row-major matrix ([rows, cols], cols a multiple of 256) encoded block by block, and its reference values. */
export function encodeMatrix(type: KQuantType, x: Float32Array): { bytes: Uint8Array; decoded: Float32Array } {
  const nb = x.length / QK_K;
  const bytes = new Uint8Array(nb * KQUANT[type].blockBytes);
  const decoded = new Float32Array(x.length);
  for (let i = 0; i < nb; i++) {
    const block = encodeBlock(type, x.subarray(i * QK_K, (i + 1) * QK_K));
    bytes.set(block, i * KQUANT[type].blockBytes);
    decoded.set(decodeBlock(type, block), i * QK_K);
  }
  return { bytes, decoded };
}
