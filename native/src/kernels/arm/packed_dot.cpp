// FEAT_DotProd (sdot) kernels: q8/q4 weights repacked at load into 16-row tiles, the geometry of the
// AVX-512 tiles (quant_formats.h: 16 rows per group, per 32-element block 16 fp16 scales then the
// quants) with NEON's lanes: the 64 bytes of 4-element step j hold those 4 elements of all 16
// rows, 4 bytes per row, so one 16-byte register holds them for 4 rows and `sdot ... v.4b[j]`
// multiplies it by 4 activations taken from a register by lane. A block accumulates in int32 per
// row, then meets its two scales in one float FMA per 4 rows.
//   q8: 8 steps, signed int8 (the +128 storage offset removed at repack);
//   q4: 4 steps, byte = element 8j+e in the low nibble and 8j+4+e in the high one (q + 8), so the
//       offset comes out once per block as 8 × the activations' block sum.
// Compiled with +dotprod; selected only when the CPU reports it.
#include <arm_neon.h>

#include <cstring>

#include "kernels/arm/neon.h"
#include "kernels/generic/generic.h"
#include "kernels/interleaved_tiles.h"
#include "kernels/panel_blocking.h"

namespace wenxin::kernels::neon_dot {

namespace {

// The plain layouts (before repacking, or when a caller keeps them): sdot per 16 elements.
inline int32x4_t block_dot(int32x4_t acc, int8x16_t w0, int8x16_t w1, int8x16_t x0, int8x16_t x1) {
  return vdotq_s32(vdotq_s32(acc, w0, x0), w1, x1);
}

#include "kernels/arm/q_plain.inc"

// Stores lanes of a 4-row vector for rows [row0, row0 + 4) that fall inside [n0, n1).
inline void store_rows(float* y, int64_t row0, int64_t n0, int64_t n1, float32x4_t v) {
  if (row0 >= n0 && row0 + 4 <= n1) {
    vst1q_f32(y + row0, v);
    return;
  }
  float tmp[4];
  vst1q_f32(tmp, v);
  for (int i = 0; i < 4; ++i)
    if (row0 + i >= n0 && row0 + i < n1) y[row0 + i] = tmp[i];
}

// G groups of 16 rows × TT tokens.
template <bool Q4, int G, int TT>
void packed_tile(const QuantizedActivations& x, int64_t t0, const uint8_t* packed, int64_t g0, int64_t n0, int64_t n1,
                 float* y, int64_t ldy) {
  const int64_t k = x.k, nb = x.blocks(), bb = packed_block_bytes(Q4);
  float32x4_t accf[G][4][TT];
  for (int g = 0; g < G; ++g)
    for (int i = 0; i < 4; ++i)
      for (int t = 0; t < TT; ++t) accf[g][i][t] = vdupq_n_f32(0.0f);
  const uint8x16_t low4 = vdupq_n_u8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    int8x16_t x0[TT], x1[TT];
    for (int t = 0; t < TT; ++t) {
      const int8_t* xq = x.q.data() + (t0 + t) * k + b * kQBlock;
      x0[t] = vld1q_s8(xq);
      x1[t] = vld1q_s8(xq + 16);
    }
    for (int g = 0; g < G; ++g) {
      const uint8_t* blk = packed + ((g0 + g) * nb + b) * bb;
      int32x4_t acc[4][TT];
      for (int i = 0; i < 4; ++i)
        for (int t = 0; t < TT; ++t) acc[i][t] = vdupq_n_s32(0);
      if constexpr (Q4) {
        // Step j: low nibbles are elements 8j..8j+3 (activation lane 2j), high 8j+4..8j+7 (2j+1).
#define WENXIN_Q4_STEP(J, XR, LA, LB)                                                        \
  for (int i = 0; i < 4; ++i) {                                                              \
    const uint8x16_t v = vld1q_u8(blk + 32 + (J) * 64 + i * 16);                             \
    const int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(v, low4));                             \
    const int8x16_t hi = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));                              \
    for (int t = 0; t < TT; ++t)                                                             \
      acc[i][t] = vdotq_laneq_s32(vdotq_laneq_s32(acc[i][t], lo, XR[t], LA), hi, XR[t], LB); \
  }
        WENXIN_Q4_STEP(0, x0, 0, 1)
        WENXIN_Q4_STEP(1, x0, 2, 3)
        WENXIN_Q4_STEP(2, x1, 0, 1)
        WENXIN_Q4_STEP(3, x1, 2, 3)
#undef WENXIN_Q4_STEP
      } else {
#define WENXIN_Q8_STEP(J, XR, L)                                                                 \
  for (int i = 0; i < 4; ++i) {                                                                  \
    const int8x16_t v = vld1q_s8(reinterpret_cast<const int8_t*>(blk) + 32 + (J) * 64 + i * 16); \
    for (int t = 0; t < TT; ++t) acc[i][t] = vdotq_laneq_s32(acc[i][t], v, XR[t], L);            \
  }
        WENXIN_Q8_STEP(0, x0, 0)
        WENXIN_Q8_STEP(1, x0, 1)
        WENXIN_Q8_STEP(2, x0, 2)
        WENXIN_Q8_STEP(3, x0, 3)
        WENXIN_Q8_STEP(4, x1, 0)
        WENXIN_Q8_STEP(5, x1, 1)
        WENXIN_Q8_STEP(6, x1, 2)
        WENXIN_Q8_STEP(7, x1, 3)
#undef WENXIN_Q8_STEP
      }
      const uint16_t* scales = reinterpret_cast<const uint16_t*>(blk);
      for (int i = 0; i < 4; ++i) {
        const float32x4_t sw = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(scales + 4 * i)));
        for (int t = 0; t < TT; ++t) {
          const int64_t xb = (t0 + t) * nb + b;
          int32x4_t a = acc[i][t];
          if constexpr (Q4) a = vsubq_s32(a, vdupq_n_s32(8 * x.block_isum[xb]));
          accf[g][i][t] = vfmaq_f32(accf[g][i][t], vcvtq_f32_s32(a), vmulq_n_f32(sw, x.scale[xb]));
        }
      }
    }
  }
  for (int g = 0; g < G; ++g)
    for (int i = 0; i < 4; ++i)
      for (int t = 0; t < TT; ++t) store_rows(y + (t0 + t) * ldy, (g0 + g) * kPackRows + 4 * i, n0, n1, accf[g][i][t]);
}

template <bool Q4>
void gemm_packed(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y,
                 int64_t ldy) {
  const int64_t T = x.rows;
  const int64_t ga = n0 / kPackRows, gb = (n1 + kPackRows - 1) / kPackRows;
  if (T == 1) {  // decode: two groups (eight sdot chains) in flight
    int64_t g = ga;
    for (; g + 2 <= gb; g += 2) packed_tile<Q4, 2, 1>(x, 0, w.packed, g, n0, n1, y, ldy);
    for (; g < gb; ++g) packed_tile<Q4, 1, 1>(x, 0, w.packed, g, n0, n1, y, ldy);
    return;
  }
  // A group's tile stays in L1 while blocks of tokens pass over it (each matrix streamed once).
  for (int64_t g = ga; g < gb; ++g)
    for (int64_t t = 0; t < T; t += 2) {
      if (T - t >= 2)
        packed_tile<Q4, 1, 2>(x, t, w.packed, g, n0, n1, y, ldy);
      else
        packed_tile<Q4, 1, 1>(x, t, w.packed, g, n0, n1, y, ldy);
    }
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

void repack(const QuantizedMatrix& w, bool q4, uint8_t* out) { tiles::repack<kPackRows, false>(w, q4, out); }

void dequantize(const QuantizedMatrix& w, bool q4, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* out) {
  if (w.packed == nullptr) {
    generic::dequantize(w, q4, r0, r1, c0, c1, out);
    return;
  }
  tiles::dequantize<kPackRows, false>(w, q4, r0, r1, c0, c1, out);
}

}  // namespace

const KernelTable kTable = {
    .name = "dotprod",
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
    .interleaved_q4_tiles = true,
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

}  // namespace wenxin::kernels::neon_dot
