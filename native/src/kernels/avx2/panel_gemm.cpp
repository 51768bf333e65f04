// gemm_panels on AVX2: a 6 × 16 register tile (12 accumulators) over each half of each panel, the
// rows of `a` first copied into [6][k]-interleaved blocks so the tile reads them with one broadcast each.
#include <immintrin.h>

#include <vector>

#include "kernels/avx2/avx2.h"

namespace wenxin::kernels::avx2 {

namespace {

constexpr int kRows = 6;

// c[r][0, cols) += Σ_p ap[p * kRows + r] · b[p][0, 16) for r < R (cols ≤ 16).
template <int R>
void tile(const float* ap, int64_t k, const float* b, float* c, int64_t ldc, int64_t cols) {
  __m256 acc[2 * R];
#pragma GCC unroll 12
  for (int i = 0; i < 2 * R; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b + p * kGemmPanel), b1 = _mm256_loadu_ps(b + p * kGemmPanel + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(ap + p * kRows + r);
      acc[2 * r] = _mm256_fmadd_ps(av, b0, acc[2 * r]);
      acc[2 * r + 1] = _mm256_fmadd_ps(av, b1, acc[2 * r + 1]);
    }
  }
  for (int r = 0; r < R; ++r) {
    float* cr = c + r * ldc;
    if (cols == 16) {
      _mm256_storeu_ps(cr, _mm256_add_ps(_mm256_loadu_ps(cr), acc[2 * r]));
      _mm256_storeu_ps(cr + 8, _mm256_add_ps(_mm256_loadu_ps(cr + 8), acc[2 * r + 1]));
    } else {
      alignas(32) float tmp[16];
      _mm256_store_ps(tmp, acc[2 * r]);
      _mm256_store_ps(tmp + 8, acc[2 * r + 1]);
      for (int64_t j = 0; j < cols; ++j) cr[j] += tmp[j];
    }
  }
}

using TileFn = void (*)(const float*, int64_t, const float*, float*, int64_t, int64_t);

}  // namespace

void gemm_panels(const float* a, int64_t lda, int64_t m, int64_t k, const float* b, int64_t n, float* c, int64_t ldc) {
  static constexpr TileFn tiles[] = {nullptr, tile<1>, tile<2>, tile<3>, tile<4>, tile<5>, tile<6>};
  thread_local std::vector<float> packed;
  packed.resize(static_cast<size_t>(k * kRows));
  for (int64_t i0 = 0; i0 < m; i0 += kRows) {
    const int rows = static_cast<int>(m - i0 < kRows ? m - i0 : kRows);
    for (int64_t p = 0; p < k; ++p)
      for (int r = 0; r < kRows; ++r) packed[p * kRows + r] = r < rows ? a[(i0 + r) * lda + p] : 0.0f;
    for (int64_t j0 = 0; j0 < n; j0 += 16) {
      const int64_t cols = n - j0 < 16 ? n - j0 : 16;
      // Half j0 % 32 of panel j0 / 32.
      tiles[rows](packed.data(), k, b + (j0 / kGemmPanel) * kGemmPanel * k + j0 % kGemmPanel, c + i0 * ldc + j0, ldc,
                  cols);
    }
  }
}

}  // namespace wenxin::kernels::avx2
