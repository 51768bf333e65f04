// Training's panel products on AVX2 + FMA (16 ymm registers): one 6 × 16 float32 register tile (12
// accumulators, two loads of B and six broadcasts of A a step) for both entries.
//
// Rows of `a` in chunks of 48, k in blocks of kDepth: per chunk and block, each group of six rows is
// copied (from bf16: widened) into a small row-major buffer that stays in L1, and the tile runs over
// every 16-column half of the block's panels (L2); the chunk's rows of c stay in L2 from one block to the
// next. gemm_panels_bf16 first widens all of B's pairs into float32 panels ([k][32], the layout
// gemm_panels reads), once a call: no widening in the inner loop, where it cost two integer ops and two
// broadcasts per pair and row. Each product of two bf16 is exact in float32, so both paths add the same
// products (in a different order from vdpbf16ps'). The trainer hands these blocks of at most 1024 deep
// and up to 256 columns wide (the table's panels_bf16_depth), so the widening of `a` is amortised over
// up to 16 tiles.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/dtype.h"
#include "kernels/avx2/avx2.h"

namespace wenxin::kernels::avx2 {

namespace {

constexpr int kRows = 6;
// Depth of one block: the packed rows of `a` (6 × 256 floats) stay in L1, B's block (256 × up to 256
// columns, the trainer's widest) in L2.
constexpr int64_t kDepth = 256;
// Floats between the packed rows of `a`: not a multiple of 4 KB apart, so the six rows do not share
// L1 sets.
constexpr int64_t kRowStride = kDepth + 16;

// Lanes [0, cols) of a 256-bit row for maskload / maskstore (cols ≤ 8).
inline __m256i lane_mask(int64_t cols) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols)), idx);
}

// c[r][0, cols) (+)= Σ_p ap[r · kRowStride + p] · b[p · LDB][0, 16) for r < R (cols ≤ 16; b's
// columns past cols are zero or ignored).
template <int R, int LDB>
inline void tile(const float* ap, int64_t k, const float* b, float* c, int64_t ldc, int64_t cols, bool accumulate) {
  __m256 acc[R][2];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
#pragma GCC unroll 2
  for (int64_t p = 0; p < k; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b + p * LDB), b1 = _mm256_loadu_ps(b + p * LDB + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(ap + r * kRowStride + p);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  if (cols == 16) {
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      float* cr = c + r * ldc;
      if (accumulate) {
        acc[r][0] = _mm256_add_ps(_mm256_loadu_ps(cr), acc[r][0]);
        acc[r][1] = _mm256_add_ps(_mm256_loadu_ps(cr + 8), acc[r][1]);
      }
      _mm256_storeu_ps(cr, acc[r][0]);
      _mm256_storeu_ps(cr + 8, acc[r][1]);
    }
    return;
  }
  const __m256i m0 = lane_mask(std::min<int64_t>(cols, 8)), m1 = lane_mask(cols > 8 ? cols - 8 : 0);
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    float* cr = c + r * ldc;
    if (accumulate) {
      acc[r][0] = _mm256_add_ps(_mm256_maskload_ps(cr, m0), acc[r][0]);
      acc[r][1] = _mm256_add_ps(_mm256_maskload_ps(cr + 8, m1), acc[r][1]);
    }
    _mm256_maskstore_ps(cr, m0, acc[r][0]);
    _mm256_maskstore_ps(cr + 8, m1, acc[r][1]);
  }
}

using TileFn = void (*)(const float*, int64_t, const float*, float*, int64_t, int64_t, bool);
// B's rows 32 floats apart (gemm_panels' panels, a tile reading one half) or 16 (gemm_panels_bf16's
// widened strips: each tile's rows one after another, a sequential stream for the prefetchers).
template <int LDB>
constexpr TileFn kTiles[] = {nullptr,      tile<1, LDB>, tile<2, LDB>, tile<3, LDB>,
                             tile<4, LDB>, tile<5, LDB>, tile<6, LDB>};

// Rows of `a` a chunk: the chunk's rows of c (48 × up to 256 columns) stay in L2 from one depth block
// to the next, where the whole of c (hundreds of rows) would be read back from L3 for every block.
constexpr int64_t kChunkRows = 8 * kRows;

// c (+)= a · B for float32 B: strip(j0) points at B[0][j0], its rows LDB floats apart; rows of `a` read
// (float32 or bf16, widened) by load_rows(i0, rows, k0, kk, out). Per chunk of rows, per depth block:
// each group of six rows copied into L1, then the tile over every 16 columns.
template <int LDB, typename Strip, typename LoadRows>
void product(int64_t m, int64_t k, const Strip& strip, int64_t n, float* c, int64_t ldc, bool accumulate,
             const LoadRows& load_rows) {
  alignas(32) float ap[kRows * kRowStride];
  for (int64_t m0 = 0; m0 < m; m0 += kChunkRows) {
    const int64_t m1 = std::min(m, m0 + kChunkRows);
    for (int64_t k0 = 0; k0 < k; k0 += kDepth) {
      const int64_t kk = std::min(kDepth, k - k0);
      for (int64_t i0 = m0; i0 < m1; i0 += kRows) {
        const int rows = static_cast<int>(std::min<int64_t>(kRows, m1 - i0));
        load_rows(i0, rows, k0, kk, ap);
        for (int64_t j0 = 0; j0 < n; j0 += 16)
          kTiles<LDB>[rows](ap, kk, strip(j0) + k0 * LDB, c + i0 * ldc + j0, ldc, std::min<int64_t>(16, n - j0),
                            accumulate || k0 > 0);
      }
    }
  }
}

// dst[i] = the float32 value of bf16 src[i], i < n.
inline void widen_bf16(const uint16_t* src, int64_t n, float* dst) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)));
  }
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
  const __m256i high = _mm256_set1_epi32(static_cast<int32_t>(0xFFFF0000u));
  const __m256i* src = reinterpret_cast<const __m256i*>(b);
  for (int64_t pn = 0; pn < panels; ++pn)
    for (int64_t q = 0; q < kp; ++q, src += 4)
      for (int v = 0; v < 4; ++v) {  // pairs 8v .. 8v + 7: columns 8v .. 8v + 7 of the panel
        float* dst = wide.data() + ((2 * pn + v / 2) * k + 2 * q) * 16 + 8 * (v % 2);
        const __m256i x = _mm256_loadu_si256(src + v);
        _mm256_storeu_ps(dst, _mm256_castsi256_ps(_mm256_slli_epi32(x, 16)));
        _mm256_storeu_ps(dst + 16, _mm256_castsi256_ps(_mm256_and_si256(x, high)));
      }
  const auto strip = [&](int64_t j0) { return wide.data() + (j0 / 16) * 16 * k; };
  product<16>(m, k, strip, n, c, ldc, accumulate, [&](int64_t i0, int rows, int64_t k0, int64_t kk, float* ap) {
    for (int r = 0; r < rows; ++r) widen_bf16(a + (i0 + r) * lda + k0, kk, ap + r * kRowStride);
  });
}

void round_bf16(const float* x, uint16_t* y, int64_t n) {
  // f32_to_bf16 per element, which the compiler vectorises for AVX2 here.
  for (int64_t i = 0; i < n; ++i) y[i] = f32_to_bf16(x[i]);
}

}  // namespace wenxin::kernels::avx2
