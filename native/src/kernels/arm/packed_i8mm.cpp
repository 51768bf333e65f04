// FEAT_I8MM (smmla) kernels: `smmla` multiplies a 2×8 int8 matrix by the transpose of another into
// a 2×2 int32 tile, so weights are repacked at load in row pairs: the same 16-row groups and block
// sizes as quant_formats.h's tiles (16 fp16 scales, then the quants), with one 16-byte register =
// 8 consecutive elements of rows 2p and 2p+1:
//   q8: register (p, j) at 32 + (4p + j) × 16, elements 8j..8j+7, signed int8;
//   q4: register (p, j) at 32 + (2p + j) × 16, low nibbles elements 8j..8j+7, high nibbles
//       16+8j..16+8j+7 (q + 8; the offset comes out per block as 8 × the activations' block sum).
// Activations go in token pairs (a zero row pads an odd count): one smmla gives 2 tokens × 2 rows,
// 64 multiply-adds per 16 weight bytes, twice sdot's when two or more tokens share the weights.
// Compiled with +i8mm (and +dotprod for the plain layout); selected only when the CPU reports both.
#include <arm_neon.h>

#include <cstring>

#include "kernels/arm/neon.h"
#include "kernels/generic/generic.h"
#include "kernels/interleaved_tiles.h"
#include "kernels/panel_blocking.h"

namespace wenxin::kernels::neon_i8mm {

namespace {

inline int32x4_t block_dot(int32x4_t acc, int8x16_t w0, int8x16_t w1, int8x16_t x0, int8x16_t x1) {
  return vdotq_s32(vdotq_s32(acc, w0, x0), w1, x1);
}

#include "kernels/arm/q_plain.inc"

// One group of 16 rows (8 row pairs) × one token pair (t0, t0 + 1; `two` false: t0 alone).
template <bool Q4>
void packed_tile(const QuantizedActivations& x, int64_t t0, bool two, const uint8_t* packed, int64_t g, int64_t n0,
                 int64_t n1, float* y, int64_t ldy) {
  const int64_t k = x.k, nb = x.blocks(), bb = packed_block_bytes(Q4);
  const int64_t t1 = two ? t0 + 1 : t0;
  float32x4_t accf[8];
  for (int p = 0; p < 8; ++p) accf[p] = vdupq_n_f32(0.0f);
  const uint8x16_t low4 = vdupq_n_u8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const int8_t* xa = x.q.data() + t0 * k + b * kQBlock;
    const int8_t* xb = x.q.data() + t1 * k + b * kQBlock;
    int8x16_t a[4];  // a[j]: token t0's elements 8j..8j+7, then token t1's (zeros when alone)
    for (int j = 0; j < 4; ++j) a[j] = vcombine_s8(vld1_s8(xa + 8 * j), two ? vld1_s8(xb + 8 * j) : vdup_n_s8(0));
    const uint8_t* blk = packed + (g * nb + b) * bb;
    int32x4_t acc[8];
    for (int p = 0; p < 8; ++p) acc[p] = vdupq_n_s32(0);
    if constexpr (Q4) {
      for (int p = 0; p < 8; ++p)
        for (int j = 0; j < 2; ++j) {
          const uint8x16_t v = vld1q_u8(blk + 32 + (2 * p + j) * 16);
          acc[p] = vmmlaq_s32(acc[p], a[j], vreinterpretq_s8_u8(vandq_u8(v, low4)));
          acc[p] = vmmlaq_s32(acc[p], a[j + 2], vreinterpretq_s8_u8(vshrq_n_u8(v, 4)));
        }
    } else {
      for (int p = 0; p < 8; ++p)
        for (int j = 0; j < 4; ++j)
          acc[p] = vmmlaq_s32(acc[p], a[j], vld1q_s8(reinterpret_cast<const int8_t*>(blk) + 32 + (4 * p + j) * 16));
    }
    // Lanes of a pair's tile: (t0, 2p), (t0, 2p+1), (t1, 2p), (t1, 2p+1).
    const float sa = x.scale[t0 * nb + b], sb = two ? x.scale[t1 * nb + b] : 0.0f;
    const float32x4_t sx = vcombine_f32(vdup_n_f32(sa), vdup_n_f32(sb));
    int32x4_t off = vdupq_n_s32(0);
    if constexpr (Q4)
      off =
          vcombine_s32(vdup_n_s32(8 * x.block_isum[t0 * nb + b]), vdup_n_s32(two ? 8 * x.block_isum[t1 * nb + b] : 0));
    const uint16_t* scales = reinterpret_cast<const uint16_t*>(blk);
    for (int q = 0; q < 4; ++q) {
      const float32x4_t sw = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(scales + 4 * q)));
      const float32x2_t lo = vget_low_f32(sw), hi = vget_high_f32(sw);
      const int p0 = 2 * q, p1 = 2 * q + 1;
      accf[p0] = vfmaq_f32(accf[p0], vcvtq_f32_s32(vsubq_s32(acc[p0], off)), vmulq_f32(vcombine_f32(lo, lo), sx));
      accf[p1] = vfmaq_f32(accf[p1], vcvtq_f32_s32(vsubq_s32(acc[p1], off)), vmulq_f32(vcombine_f32(hi, hi), sx));
    }
  }
  for (int p = 0; p < 8; ++p) {
    float v[4];
    vst1q_f32(v, accf[p]);
    for (int r = 0; r < 2; ++r) {
      const int64_t row = g * kPackRows + 2 * p + r;
      if (row < n0 || row >= n1) continue;
      y[t0 * ldy + row] = v[r];
      if (two) y[t1 * ldy + row] = v[2 + r];
    }
  }
}

template <bool Q4>
void gemm_packed(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y,
                 int64_t ldy) {
  const int64_t T = x.rows;
  const int64_t ga = n0 / kPackRows, gb = (n1 + kPackRows - 1) / kPackRows;
  // A group's tile (nb × 544 or 288 bytes) stays in L1/L2 while every token pair passes over it.
  for (int64_t g = ga; g < gb; ++g)
    for (int64_t t = 0; t < T; t += 2) packed_tile<Q4>(x, t, t + 1 < T, w.packed, g, n0, n1, y, ldy);
}

void gemm_q8(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  if (w.packed != nullptr)
    gemm_packed<false>(x, w, n0, n1, y, ldy);
  else
    gemm_plain<false>(x, w, n0, n1, y, ldy);
}

void gemm_q4(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  if (w.packed != nullptr)
    gemm_packed<true>(x, w, n0, n1, y, ldy);
  else
    gemm_plain<true>(x, w, n0, n1, y, ldy);
}

// Byte offset of element e (0..31) of row r (0..15) in a block's quants, and for q4 whether it is
// the high nibble.
inline int64_t q8_offset(int64_t r, int64_t e) { return 32 + ((r / 2) * 4 + e / 8) * 16 + (r % 2) * 8 + e % 8; }
inline int64_t q4_offset(int64_t r, int64_t e) { return 32 + ((r / 2) * 2 + (e % 16) / 8) * 16 + (r % 2) * 8 + e % 8; }

void repack(const QuantizedMatrix& w, bool q4, uint8_t* out) {
  const int64_t n = w.n, k = w.k, nb = k / kQBlock, groups = (n + kPackRows - 1) / kPackRows;
  const int64_t bb = packed_block_bytes(q4);
  std::memset(out, 0, static_cast<size_t>(groups * nb * bb));
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* dst = out + (g * nb + b) * bb;
      for (int64_t r = 0; r < kPackRows; ++r) {
        const int64_t row = g * kPackRows + r;
        const uint16_t s = row < n ? w.block_scale[row * nb + b] : 0;
        std::memcpy(dst + 2 * r, &s, 2);
        for (int64_t e = 0; e < kQBlock; ++e) {
          if (q4) {
            const uint8_t v = row < n ? tiles::plain_q4(w, row, b * kQBlock + e) : 8;
            dst[q4_offset(r, e)] |= static_cast<uint8_t>(e < 16 ? v : v << 4);
          } else {
            dst[q8_offset(r, e)] = row < n ? static_cast<uint8_t>(w.data[row * k + b * kQBlock + e] ^ 0x80) : 0;
          }
        }
      }
    }
}

void dequantize(const QuantizedMatrix& w, bool q4, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* out) {
  if (w.packed == nullptr) {
    generic::dequantize(w, q4, r0, r1, c0, c1, out);
    return;
  }
  const int64_t nb = w.k / kQBlock, bb = packed_block_bytes(q4), cols = c1 - c0;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t g = r / kPackRows, rr = r % kPackRows;
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t b = c / kQBlock, e = c % kQBlock;
      const uint8_t* tile = w.packed + (g * nb + b) * bb;
      uint16_t s;
      std::memcpy(&s, tile + 2 * rr, 2);
      int32_t q;
      if (q4) {
        const uint8_t byte = tile[q4_offset(rr, e)];
        q = static_cast<int32_t>(e < 16 ? (byte & 0x0F) : (byte >> 4)) - 8;
      } else {
        q = static_cast<int8_t>(tile[q8_offset(rr, e)]);
      }
      out[(r - r0) * cols + c - c0] = static_cast<float>(q) * f16_to_f32(s);
    }
  }
}

}  // namespace

const KernelTable kTable = {
    .name = "i8mm",
    .gemm_float = neon::gemm_float,
    .quantize_row_q8 = neon::quantize_row_q8,
    .gemm_q8 = gemm_q8,
    .gemm_q4 = gemm_q4,
    .repack = repack,
    .pack_rows = kPackRows,
    .pack_block_bytes_q8 = packed_block_bytes(false),
    .pack_block_bytes_q4 = packed_block_bytes(true),
    .gemm_fp8 = neon::gemm_fp8,
    .attention = neon::attention,
    .dot_f32 = neon::dot,
    .axpy_f32 = neon::axpy,
    .dequantize = dequantize,
    .gemm_panels = neon::gemm_panels,
    .gemm_panels_bf16 = neon::gemm_panels_bf16,
    .round_bf16 = generic::round_bf16,
    .exp_f32 = neon::exp_f32,
    .silu_mul_f32 = neon::silu_mul,
    .silu_mul_grad_f32 = neon::silu_mul_grad,
    .max_f32 = neon::max_value,
    .exp_sum_f32 = neon::exp_sum,
    .panels_bf16_depth = panel_blocking::kWidenedPairsDepth,
};

}  // namespace wenxin::kernels::neon_i8mm
