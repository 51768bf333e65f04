// gemm_panels on AVX2: a 6 × 16 register tile (12 accumulators) over each half of each panel, the
// rows of `a` first copied into [6][k]-interleaved blocks so the tile reads them with one broadcast each.
// gemm_panels_bf16: a 4 × 16 tile over pairs of bf16, each pair widened to two float32 FMAs (no vdpbf16ps here).
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "core/dtype.h"
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

constexpr int kRowsBf16 = 4;

// c[r][0, cols) += Σ_q a[r][2q, 2q + 2) · b[q][0, 16)[2] for r < R (cols ≤ 16; b's rows 2 · kGemmPanel apart).
template <int R>
void tile_bf16(const uint16_t* a, int64_t lda, int64_t kp, const uint16_t* b, float* c, int64_t ldc, int64_t cols,
               bool accumulate) {
  const __m256i high = _mm256_set1_epi32(static_cast<int32_t>(0xFFFF0000u));
  __m256 acc[2 * R];
#pragma GCC unroll 8
  for (int i = 0; i < 2 * R; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t q = 0; q < kp; ++q) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + q * 2 * kGemmPanel));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + q * 2 * kGemmPanel + 16));
    const __m256 b0o = _mm256_castsi256_ps(_mm256_and_si256(b0, high)),
                 b0e = _mm256_castsi256_ps(_mm256_slli_epi32(b0, 16));
    const __m256 b1o = _mm256_castsi256_ps(_mm256_and_si256(b1, high)),
                 b1e = _mm256_castsi256_ps(_mm256_slli_epi32(b1, 16));
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      uint32_t pair;
      std::memcpy(&pair, a + r * lda + 2 * q, sizeof(pair));
      const __m256 ao = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int32_t>(pair & 0xFFFF0000u)));
      const __m256 ae = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int32_t>(pair << 16)));
      acc[2 * r] = _mm256_fmadd_ps(ae, b0e, _mm256_fmadd_ps(ao, b0o, acc[2 * r]));
      acc[2 * r + 1] = _mm256_fmadd_ps(ae, b1e, _mm256_fmadd_ps(ao, b1o, acc[2 * r + 1]));
    }
  }
  for (int r = 0; r < R; ++r) {
    float* cr = c + r * ldc;
    alignas(32) float tmp[16];
    _mm256_store_ps(tmp, acc[2 * r]);
    _mm256_store_ps(tmp + 8, acc[2 * r + 1]);
    for (int64_t j = 0; j < cols; ++j) cr[j] = accumulate ? cr[j] + tmp[j] : tmp[j];
  }
}

using TileBf16Fn = void (*)(const uint16_t*, int64_t, int64_t, const uint16_t*, float*, int64_t, int64_t, bool);

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

void gemm_panels_bf16(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* b, int64_t n, float* c,
                      int64_t ldc, bool accumulate) {
  static constexpr TileBf16Fn tiles[] = {nullptr, tile_bf16<1>, tile_bf16<2>, tile_bf16<3>, tile_bf16<4>};
  for (int64_t i0 = 0; i0 < m; i0 += kRowsBf16) {
    const int rows = static_cast<int>(m - i0 < kRowsBf16 ? m - i0 : kRowsBf16);
    for (int64_t j0 = 0; j0 < n; j0 += 16) {
      const int64_t cols = n - j0 < 16 ? n - j0 : 16;
      // Half j0 % 32 of panel j0 / 32: its pairs start 2 · (j0 % 32) elements into each row of the panel.
      tiles[rows](a + i0 * lda, lda, kp, b + (j0 / kGemmPanel) * 2 * kGemmPanel * kp + 2 * (j0 % kGemmPanel),
                  c + i0 * ldc + j0, ldc, cols, accumulate);
    }
  }
}

void round_bf16(const float* x, uint16_t* y, int64_t n) {
  // f32_to_bf16 per element, which the compiler vectorises for AVX2 here.
  for (int64_t i = 0; i < n; ++i) y[i] = f32_to_bf16(x[i]);
}

}  // namespace wenxin::kernels::avx2
