// Training's panel products on base NEON (32 q registers), for all three AArch64 tables: one 6 × 16
// float32 register tile (24 accumulators, four loads of B and six of `a`, each broadcast, per step).
//
// The blocking is the AVX2 path's (kernels/avx2/panel_gemm.cpp): rows of `a` in chunks of 48, k in
// blocks of kDepth; per chunk and block, each group of six rows is copied (from bf16: widened) into a
// small buffer that stays in L1, and the tile runs over every 16 columns of the block's panels. Without
// a bf16 dot product in the base architecture, gemm_panels_bf16 first widens B's pairs into float32
// strips once a call and then runs the float32 tile: the generic reference converts every pair in its
// inner loop, which made bf16 compute the slow choice on AArch64. Each product of two bf16 is exact in
// float32, so both paths add the same products.
#include <arm_neon.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/dtype.h"
#include "kernels/arm/neon.h"

namespace wenxin::kernels::neon {

namespace {

constexpr int kRows = 6;
constexpr int kCols = 16;  // columns a tile: four vectors
// Depth of one block: the packed rows of `a` (6 × 256 floats) stay in L1.
constexpr int64_t kDepth = 256;
// Floats between the packed rows of `a`: not a multiple of 4 KB apart, so the six rows do not share
// L1 sets.
constexpr int64_t kRowStride = kDepth + 16;
// Rows of `a` a chunk: the chunk's rows of c stay in L2 from one depth block to the next.
constexpr int64_t kChunkRows = 8 * kRows;

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

using TileFn = void (*)(const float*, int64_t, const float*, float*, int64_t, int64_t, bool);
// B's rows 32 floats apart (gemm_panels' panels, a tile reading one half) or 16 (gemm_panels_bf16's
// widened strips).
template <int LDB>
constexpr TileFn kTiles[] = {nullptr,      tile<1, LDB>, tile<2, LDB>, tile<3, LDB>,
                             tile<4, LDB>, tile<5, LDB>, tile<6, LDB>};

// c (+)= a · B for float32 B: strip(j0) points at B[0][j0], its rows LDB floats apart; rows of `a` read
// (float32 or bf16, widened) by load_rows(i0, rows, k0, kk, out).
template <int LDB, typename Strip, typename LoadRows>
void product(int64_t m, int64_t k, const Strip& strip, int64_t n, float* c, int64_t ldc, bool accumulate,
             const LoadRows& load_rows) {
  alignas(16) float ap[kRows * kRowStride];
  for (int64_t m0 = 0; m0 < m; m0 += kChunkRows) {
    const int64_t m1 = std::min(m, m0 + kChunkRows);
    for (int64_t k0 = 0; k0 < k; k0 += kDepth) {
      const int64_t kk = std::min(kDepth, k - k0);
      for (int64_t i0 = m0; i0 < m1; i0 += kRows) {
        const int rows = static_cast<int>(std::min<int64_t>(kRows, m1 - i0));
        load_rows(i0, rows, k0, kk, ap);
        for (int64_t j0 = 0; j0 < n; j0 += kCols)
          kTiles<LDB>[rows](ap, kk, strip(j0) + k0 * LDB, c + i0 * ldc + j0, ldc, std::min<int64_t>(kCols, n - j0),
                            accumulate || k0 > 0);
      }
    }
  }
}

// dst[i] = the float32 value of bf16 src[i], i < n.
inline void widen_bf16(const uint16_t* src, int64_t n, float* dst) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(src + i), 16)));
  for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

}  // namespace

void gemm_panels(const float* a, int64_t lda, int64_t m, int64_t k, const float* b, int64_t n, float* c, int64_t ldc) {
  // Half j0 % 32 of panel j0 / 32.
  const auto strip = [&](int64_t j0) { return b + (j0 / kGemmPanel) * kGemmPanel * k + j0 % kGemmPanel; };
  product<kGemmPanel>(m, k, strip, n, c, ldc, true, [&](int64_t i0, int rows, int64_t k0, int64_t kk, float* ap) {
    for (int r = 0; r < rows; ++r)
      std::memcpy(ap + r * kRowStride, a + (i0 + r) * lda + k0, static_cast<size_t>(kk) * sizeof(float));
  });
}

void gemm_panels_bf16(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* b, int64_t n, float* c,
                      int64_t ldc, bool accumulate) {
  // B's pairs widened once into float32 strips of 16 columns, [n / 16][2 kp][16]: pair q's low halves
  // are row 2q, its high halves row 2q + 1.
  const int64_t panels = (n + kGemmPanel - 1) / kGemmPanel, k = 2 * kp;
  thread_local std::vector<float> wide;
  wide.resize(static_cast<size_t>(panels * k * kGemmPanel));
  const uint32x4_t high = vdupq_n_u32(0xFFFF0000u);
  const uint32_t* src = reinterpret_cast<const uint32_t*>(b);
  for (int64_t pn = 0; pn < panels; ++pn)
    for (int64_t q = 0; q < kp; ++q, src += kGemmPanel)
      for (int64_t j = 0; j < kGemmPanel; j += 4) {  // pairs j .. j + 3: columns j .. j + 3 of the panel
        float* dst = wide.data() + ((2 * pn + j / kCols) * k + 2 * q) * kCols + j % kCols;
        const uint32x4_t x = vld1q_u32(src + j);
        vst1q_f32(dst, vreinterpretq_f32_u32(vshlq_n_u32(x, 16)));
        vst1q_f32(dst + kCols, vreinterpretq_f32_u32(vandq_u32(x, high)));
      }
  const auto strip = [&](int64_t j0) { return wide.data() + (j0 / kCols) * kCols * k; };
  product<kCols>(m, k, strip, n, c, ldc, accumulate, [&](int64_t i0, int rows, int64_t k0, int64_t kk, float* ap) {
    for (int r = 0; r < rows; ++r) widen_bf16(a + (i0 + r) * lda + k0, kk, ap + r * kRowStride);
  });
}

}  // namespace wenxin::kernels::neon
