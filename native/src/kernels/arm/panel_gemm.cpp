// Training's panel products on base NEON (32 q registers), for all three AArch64 tables: one 6 × 16
// float32 register tile (24 accumulators, four loads of B and six of `a`, each broadcast, a step), blocked
// and driven by kernels/panel_product.inc as on AVX2. Without a bf16 dot product in the base architecture,
// gemm_panels_bf16 widens B's pairs into float32 once a call and runs the same tile: the generic reference
// these tables used converts every pair in its inner loop, one row of `a` at a time.
#include <arm_neon.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/dtype.h"
#include "kernels/arm/neon.h"
#include "kernels/panel_blocking.h"

namespace wenxin::kernels::neon {

namespace {

using panel_blocking::kCols;  // four vectors
using panel_blocking::kRowStride;

// c[r][0, cols) (+)= Σ_p ap[r · kRowStride + p] · b[p · LDB][0, 16) for r < R (cols ≤ 16; b's columns
// past cols are zero or ignored).
template <int R, int LDB>
inline void tile(const float* ap, int64_t k, const float* b, float* c, int64_t ldc, int64_t cols, bool accumulate) {
  float32x4_t acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < 4; ++v) acc[r][v] = vdupq_n_f32(0.0f);
  for (int64_t p = 0; p < k; ++p) {
    const float* bp = b + p * LDB;
    const float32x4_t b0 = vld1q_f32(bp), b1 = vld1q_f32(bp + 4), b2 = vld1q_f32(bp + 8), b3 = vld1q_f32(bp + 12);
    for (int r = 0; r < R; ++r) {
      const float32x4_t av = vld1q_dup_f32(ap + r * kRowStride + p);
      acc[r][0] = vfmaq_f32(acc[r][0], av, b0);
      acc[r][1] = vfmaq_f32(acc[r][1], av, b1);
      acc[r][2] = vfmaq_f32(acc[r][2], av, b2);
      acc[r][3] = vfmaq_f32(acc[r][3], av, b3);
    }
  }
  for (int r = 0; r < R; ++r) {
    float* cr = c + r * ldc;
    if (cols == kCols) {
      for (int v = 0; v < 4; ++v) {
        const float32x4_t sum = accumulate ? vaddq_f32(vld1q_f32(cr + 4 * v), acc[r][v]) : acc[r][v];
        vst1q_f32(cr + 4 * v, sum);
      }
      continue;
    }
    float row[kCols];
    for (int v = 0; v < 4; ++v) vst1q_f32(row + 4 * v, acc[r][v]);
    for (int64_t j = 0; j < cols; ++j) cr[j] = accumulate ? cr[j] + row[j] : row[j];
  }
}

// dst[i] = the float32 value of bf16 src[i], i < n.
inline void widen_bf16(const uint16_t* src, int64_t n, float* dst) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(src + i), 16)));
  for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

// even[0, 16) and odd[0, 16): the low and the high halves of 16 pairs of bf16, as float32.
inline void widen_pairs16(const uint32_t* src, float* even, float* odd) {
  const uint32x4_t high = vdupq_n_u32(0xFFFF0000u);
  for (int v = 0; v < 4; ++v) {
    const uint32x4_t x = vld1q_u32(src + 4 * v);
    vst1q_f32(even + 4 * v, vreinterpretq_f32_u32(vshlq_n_u32(x, 16)));
    vst1q_f32(odd + 4 * v, vreinterpretq_f32_u32(vandq_u32(x, high)));
  }
}

}  // namespace

#include "kernels/panel_product.inc"

}  // namespace wenxin::kernels::neon
