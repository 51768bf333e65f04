// gemm_panels on AVX-512: a 12 × 32 register tile (24 accumulators) over each panel, the rows of `a`
// first copied into [12][k]-interleaved blocks so the tile reads them with one broadcast each.
#include <immintrin.h>

#include <vector>

#include "kernels/avx512/avx512.h"

namespace wenxin::kernels::avx512 {

namespace {

constexpr int kRows = 12;

// c[r][0, 32) += Σ_p ap[p * kRows + r] · b[p][0, 32) for r < R, columns masked by m0 / m1.
template <int R>
void tile(const float* ap, int64_t k, const float* b, float* c, int64_t ldc, __mmask16 m0, __mmask16 m1) {
  __m512 acc[2 * R];
#pragma GCC unroll 24
  for (int i = 0; i < 2 * R; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const __m512 b0 = _mm512_loadu_ps(b + p * kGemmPanel), b1 = _mm512_loadu_ps(b + p * kGemmPanel + 16);
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(ap[p * kRows + r]);
      acc[2 * r] = _mm512_fmadd_ps(av, b0, acc[2 * r]);
      acc[2 * r + 1] = _mm512_fmadd_ps(av, b1, acc[2 * r + 1]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
    float* cr = c + r * ldc;
    _mm512_mask_storeu_ps(cr, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), acc[2 * r]));
    _mm512_mask_storeu_ps(cr + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), acc[2 * r + 1]));
  }
}

using TileFn = void (*)(const float*, int64_t, const float*, float*, int64_t, __mmask16, __mmask16);

}  // namespace

void gemm_panels(const float* a, int64_t lda, int64_t m, int64_t k, const float* b, int64_t n, float* c, int64_t ldc) {
  static constexpr TileFn tiles[] = {nullptr, tile<1>, tile<2>, tile<3>,  tile<4>,  tile<5>, tile<6>,
                                     tile<7>, tile<8>, tile<9>, tile<10>, tile<11>, tile<12>};
  thread_local std::vector<float> packed;
  packed.resize(static_cast<size_t>(k * kRows));
  for (int64_t i0 = 0; i0 < m; i0 += kRows) {
    const int rows = static_cast<int>(m - i0 < kRows ? m - i0 : kRows);
    for (int64_t p = 0; p < k; ++p)
      for (int r = 0; r < kRows; ++r) packed[p * kRows + r] = r < rows ? a[(i0 + r) * lda + p] : 0.0f;
    for (int64_t j0 = 0; j0 < n; j0 += kGemmPanel) {
      const int64_t cols = n - j0;
      const __mmask16 m0 = cols >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << cols) - 1);
      const __mmask16 m1 = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : static_cast<__mmask16>((1u << (cols - 16)) - 1);
      tiles[rows](packed.data(), k, b + j0 * k, c + i0 * ldc + j0, ldc, m0, m1);
    }
  }
}

}  // namespace wenxin::kernels::avx512
