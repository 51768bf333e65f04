// Base AArch64 kernels (Advanced SIMD only: every AArch64 CPU). The float and fp8 GEMMs widen each
// weight row in registers (f16 with fcvtl, bf16 and fp8 with shifts) and stream it once per block
// of tokens; the q8/q4 GEMMs read the plain layouts with widening int8 products (smull + sadalp).
#include <arm_neon.h>

#include <cmath>
#include <cstring>

#include "kernels/arm/neon.h"
#include "kernels/generic/generic.h"
#include "kernels/panel_blocking.h"

namespace wenxin::kernels::neon {

namespace {

// Widening loaders: 8 weights of one row at element i as two float vectors. `kVecScale` is what
// the vector values must be multiplied by (fp8 is widened through f16 with its exponent 8 short);
// `at` is the exact scalar value, for the tail of a row.
struct LoadF32 {
  static constexpr float kVecScale = 1.0f;
  static void load8(const uint8_t* row, int64_t i, float32x4_t& lo, float32x4_t& hi) {
    const float* p = reinterpret_cast<const float*>(row) + i;
    lo = vld1q_f32(p);
    hi = vld1q_f32(p + 4);
  }
  static float at(const uint8_t* row, int64_t i) {
    float v;
    std::memcpy(&v, row + 4 * i, 4);
    return v;
  }
};

struct LoadF16 {
  static constexpr float kVecScale = 1.0f;
  static void load8(const uint8_t* row, int64_t i, float32x4_t& lo, float32x4_t& hi) {
    const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(reinterpret_cast<const uint16_t*>(row) + i));
    lo = vcvt_f32_f16(vget_low_f16(h));
    hi = vcvt_high_f32_f16(h);
  }
  static float at(const uint8_t* row, int64_t i) {
    uint16_t v;
    std::memcpy(&v, row + 2 * i, 2);
    return f16_to_f32(v);
  }
};

struct LoadBF16 {
  static constexpr float kVecScale = 1.0f;
  static void load8(const uint8_t* row, int64_t i, float32x4_t& lo, float32x4_t& hi) {
    const uint16x8_t h = vld1q_u16(reinterpret_cast<const uint16_t*>(row) + i);
    lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
    hi = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
  }
  static float at(const uint8_t* row, int64_t i) {
    uint16_t v;
    std::memcpy(&v, row + 2 * i, 2);
    return bf16_to_f32(v);
  }
};

// e4m3 → f16 bits: the sign to bit 15, exponent and mantissa (7 bits) to bits 13..7. The f16 value
// is the e4m3 value / 2^8 (f16's exponent bias is 8 larger), subnormals included; the vector sum is
// scaled back once per output. (The NaN codes 0x7F/0xFF widen to ±480/256: the quantizer never
// writes them.)
struct LoadFp8 {
  static constexpr float kVecScale = 256.0f;
  static void load8(const uint8_t* row, int64_t i, float32x4_t& lo, float32x4_t& hi) {
    const uint8x8_t v = vld1_u8(row + i);
    const uint16x8_t bits =
        vorrq_u16(vshll_n_u8(vand_u8(v, vdup_n_u8(0x7F)), 7), vshll_n_u8(vand_u8(v, vdup_n_u8(0x80)), 8));
    const float16x8_t h = vreinterpretq_f16_u16(bits);
    lo = vcvt_f32_f16(vget_low_f16(h));
    hi = vcvt_high_f32_f16(h);
  }
  static float at(const uint8_t* row, int64_t i) { return fp8_e4m3_to_f32(row[i]); }
};

// R weight rows × TT tokens: each 8-element slice of the R rows is widened once into registers and
// multiplied into every token (weights are the stream; activations stay in L1). Two accumulators per
// output keep the reference's eight partial sums and its order of adding them up (faddp pairs them
// as it does), so results differ from it only by the fused multiply-adds.
template <class L, int R, int TT>
void float_tile(const float* x, int64_t t0, int64_t k, const uint8_t* w, size_t rb, int64_t n, const float* row_scale,
                float* y, int64_t ldy) {
  float32x4_t lo[R][TT], hi[R][TT];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) lo[r][t] = hi[r][t] = vdupq_n_f32(0.0f);
  int64_t i = 0;
  for (; i + 8 <= k; i += 8) {
    float32x4_t wl[R], wh[R];
    for (int r = 0; r < R; ++r) L::load8(w + (n + r) * rb, i, wl[r], wh[r]);
    for (int t = 0; t < TT; ++t) {
      const float* xt = x + (t0 + t) * k + i;
      const float32x4_t xl = vld1q_f32(xt), xh = vld1q_f32(xt + 4);
      for (int r = 0; r < R; ++r) {
        lo[r][t] = vfmaq_f32(lo[r][t], wl[r], xl);
        hi[r][t] = vfmaq_f32(hi[r][t], wh[r], xh);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    const uint8_t* row = w + (n + r) * rb;
    for (int t = 0; t < TT; ++t) {
      const float* xt = x + (t0 + t) * k;
      // Explicit fma: left to -ffp-contract, an instantiation whose tokens' tails the compiler
      // vectorises together rounds the products apart, so a token's output would depend on its batch.
      float tail = 0;
      for (int64_t j = i; j < k; ++j) tail = std::fma(xt[j], L::at(row, j), tail);
      const float s = std::fma(vaddvq_f32(vaddq_f32(lo[r][t], hi[r][t])), L::kVecScale, tail);
      y[(t0 + t) * ldy + n + r] = row_scale != nullptr ? s * row_scale[n + r] : s;
    }
  }
}

template <class L>
void gemm_rows(const float* x, int64_t T, int64_t k, const uint8_t* w, size_t rb, int64_t n0, int64_t n1,
               const float* row_scale, float* y, int64_t ldy) {
  if (T == 1) {  // decode: four rows in flight (eight independent FMA chains)
    int64_t n = n0;
    for (; n + 4 <= n1; n += 4) float_tile<L, 4, 1>(x, 0, k, w, rb, n, row_scale, y, ldy);
    for (; n < n1; ++n) float_tile<L, 1, 1>(x, 0, k, w, rb, n, row_scale, y, ldy);
    return;
  }
  for (int64_t n = n0; n < n1; n += 4) {
    const int64_t r = n1 - n < 4 ? n1 - n : 4;
    for (int64_t t = 0; t < T; t += 2) {
      const bool two = T - t >= 2;
      if (r == 4) {
        if (two)
          float_tile<L, 4, 2>(x, t, k, w, rb, n, row_scale, y, ldy);
        else
          float_tile<L, 4, 1>(x, t, k, w, rb, n, row_scale, y, ldy);
      } else {
        for (int64_t rr = 0; rr < r; ++rr) {
          if (two)
            float_tile<L, 1, 2>(x, t, k, w, rb, n + rr, row_scale, y, ldy);
          else
            float_tile<L, 1, 1>(x, t, k, w, rb, n + rr, row_scale, y, ldy);
        }
      }
    }
  }
}

// The exact int32 dot of one 32-element block: widening products, pairwise-added into int32 lanes.
inline int32x4_t block_dot(int32x4_t acc, int8x16_t w0, int8x16_t w1, int8x16_t x0, int8x16_t x1) {
  acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(w0), vget_low_s8(x0)));
  acc = vpadalq_s16(acc, vmull_high_s8(w0, x0));
  acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(w1), vget_low_s8(x1)));
  acc = vpadalq_s16(acc, vmull_high_s8(w1, x1));
  return acc;
}

#include "kernels/arm/q_plain.inc"

void gemm_q8(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  gemm_plain<false>(x, w, n0, n1, y, ldy);
}

void gemm_q4(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  gemm_plain<true>(x, w, n0, n1, y, ldy);
}

}  // namespace

void gemm_float(const float* x, int64_t T, int64_t k, const void* w, DType wt, size_t w_row_bytes, int64_t n0,
                int64_t n1, float* y, int64_t ldy) {
  const auto* wb = static_cast<const uint8_t*>(w);
  switch (wt) {
    case DType::kF16: gemm_rows<LoadF16>(x, T, k, wb, w_row_bytes, n0, n1, nullptr, y, ldy); break;
    case DType::kBF16: gemm_rows<LoadBF16>(x, T, k, wb, w_row_bytes, n0, n1, nullptr, y, ldy); break;
    default: gemm_rows<LoadF32>(x, T, k, wb, w_row_bytes, n0, n1, nullptr, y, ldy); break;
  }
}

void gemm_fp8(const float* x, int64_t T, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  gemm_rows<LoadFp8>(x, T, w.k, w.data, static_cast<size_t>(w.k), n0, n1, w.row_scale, y, ldy);
}

// Bit-identical to the generic quantizer: the same scale (amax / 127, then its reciprocal) and
// round-to-nearest-even (fcvtns, as lrintf in the default rounding mode).
void quantize_row_q8(const float* x, int64_t row, QuantizedActivations* out) {
  const int64_t k = out->k;
  int8_t* q = out->q.data() + row * k;
  float* scale = out->scale.data() + row * out->blocks();
  for (int64_t b = 0; b < out->blocks(); ++b) {
    const float* xb = x + b * kQBlock;
    float32x4_t v[8];
    float32x4_t m = vdupq_n_f32(0.0f);
    for (int i = 0; i < 8; ++i) {
      v[i] = vld1q_f32(xb + 4 * i);
      m = vmaxq_f32(m, vabsq_f32(v[i]));
    }
    const float amax = vmaxvq_f32(m);
    const float d = amax / 127.0f;
    const float inv = d > 0 ? 1.0f / d : 0.0f;
    int16x8_t h[4];
    for (int i = 0; i < 4; ++i) {
      const int32x4_t a = vcvtnq_s32_f32(vmulq_n_f32(v[2 * i], inv));
      const int32x4_t c = vcvtnq_s32_f32(vmulq_n_f32(v[2 * i + 1], inv));
      h[i] = vcombine_s16(vqmovn_s32(a), vqmovn_s32(c));
    }
    vst1q_s8(q + b * kQBlock, vcombine_s8(vqmovn_s16(h[0]), vqmovn_s16(h[1])));
    vst1q_s8(q + b * kQBlock + 16, vcombine_s8(vqmovn_s16(h[2]), vqmovn_s16(h[3])));
    scale[b] = d;
  }
  generic::finish_quantized_row(out, row);
}

float max_value(const float* x, int64_t n) {
  float32x4_t m = vdupq_n_f32(x[0]);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) m = vmaxq_f32(vld1q_f32(x + i), m);
  float r = vmaxvq_f32(m);
  for (; i < n; ++i) r = r < x[i] ? x[i] : r;
  return r;
}

float dot(const float* a, const float* b, int64_t n) {
  // The reference's eight partial sums (two registers, twice unrolled) and its order of adding them up.
  float32x4_t lo = vdupq_n_f32(0.0f), hi = lo, lo2 = lo, hi2 = lo;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    lo = vfmaq_f32(lo, vld1q_f32(a + i), vld1q_f32(b + i));
    hi = vfmaq_f32(hi, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    lo2 = vfmaq_f32(lo2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
    hi2 = vfmaq_f32(hi2, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
  }
  lo = vaddq_f32(lo, lo2);
  hi = vaddq_f32(hi, hi2);
  for (; i + 8 <= n; i += 8) {
    lo = vfmaq_f32(lo, vld1q_f32(a + i), vld1q_f32(b + i));
    hi = vfmaq_f32(hi, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
  }
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return vaddvq_f32(vaddq_f32(lo, hi)) + tail;
}

void axpy(float a, const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
    vst1q_f32(y + i + 4, vfmaq_n_f32(vld1q_f32(y + i + 4), vld1q_f32(x + i + 4), a));
  }
  for (; i < n; ++i) y[i] += a * x[i];
}

#include "kernels/silu_mul.inc"
#include "kernels/softmax_passes.inc"

const KernelTable kTable = {
    .name = "neon",
    .gemm_float = gemm_float,
    .quantize_row_q8 = quantize_row_q8,
    .gemm_q8 = gemm_q8,
    .gemm_q4 = gemm_q4,
    .repack = nullptr,
    .pack_rows = 0,
    .pack_block_bytes_q8 = 0,
    .pack_block_bytes_q4 = 0,
    .gemm_fp8 = gemm_fp8,
    .attention = attention,
    .dot_f32 = dot,
    .axpy_f32 = axpy,
    .dequantize = generic::dequantize,
    .gemm_panels = gemm_panels,
    .gemm_panels_bf16 = gemm_panels_bf16,
    .round_bf16 = generic::round_bf16,
    .exp_f32 = exp_f32,
    .silu_mul_f32 = silu_mul,
    .silu_mul_grad_f32 = silu_mul_grad,
    .max_f32 = max_value,
    .exp_sum_f32 = exp_sum,
    .panels_bf16_depth = panel_blocking::kWidenedPairsDepth,
};

}  // namespace wenxin::kernels::neon
