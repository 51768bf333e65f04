// Training's panel products on AVX2 + FMA (16 ymm registers): one 6 × 16 float32 register tile (12
// accumulators, two loads of B and six broadcasts of A a step) for both entries, blocked and driven by
// kernels/panel_product.inc (gemm_panels_bf16 widens B's pairs to float32 once a call and runs the same
// tile).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/dtype.h"
#include "kernels/avx2/avx2.h"
#include "kernels/avx2/transpose8.h"
#include "kernels/panel_blocking.h"

namespace wenxin::kernels::avx2 {

namespace {

using panel_blocking::kRowStride;

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

// dst[i] = the float32 value of bf16 src[i], i < n.
inline void widen_bf16(const uint16_t* src, int64_t n, float* dst) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)));
  }
  for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

// even[0, 16) and odd[0, 16): the low and the high halves of 16 pairs of bf16, as float32.
inline void widen_pairs16(const uint32_t* src, float* even, float* odd) {
  const __m256i high = _mm256_set1_epi32(static_cast<int32_t>(0xFFFF0000u));
  for (int v = 0; v < 2; ++v) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 8 * v));
    _mm256_storeu_ps(even + 8 * v, _mm256_castsi256_ps(_mm256_slli_epi32(x, 16)));
    _mm256_storeu_ps(odd + 8 * v, _mm256_castsi256_ps(_mm256_and_si256(x, high)));
  }
}

}  // namespace

#include "kernels/panel_product.inc"

namespace {

// W's first `rows` rows (at most 16, `ldw` apart) as one float32 strip [k][16]: out[p · 16 + j] = W[j][p],
// zero for j ≥ rows. 8 × 8 blocks of values widened and transposed in registers.
void lay_rows_strip(const uint16_t* w, int64_t ldw, int64_t rows, int64_t k, float* out) {
  int64_t p = 0;
  for (; p + 8 <= k; p += 8)
    for (int half = 0; half < 2; ++half) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) {
        const int64_t row = 8 * half + i;
        const __m128i h =
            row < rows ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + row * ldw + p)) : _mm_setzero_si128();
        r[i] = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
      }
      transpose8(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(out + (p + i) * kCols + 8 * half, r[i]);
    }
  for (; p < k; ++p)
    for (int64_t j = 0; j < kCols; ++j) out[p * kCols + j] = j < rows ? bf16_to_f32(w[j * ldw + p]) : 0.0f;
}

}  // namespace

void gemm_float_bf16_rows(const float* x, int64_t m, int64_t k, const uint16_t* w, int64_t ldw, int64_t n, float* c,
                          int64_t ldc) {
  const int64_t strips = (n + kCols - 1) / kCols;
  thread_local std::vector<float> wide;
  wide.resize(static_cast<size_t>(strips * k * kCols));
  for (int64_t s = 0; s < strips; ++s)
    lay_rows_strip(w + s * kCols * ldw, ldw, std::min(kCols, n - s * kCols), k, wide.data() + s * k * kCols);
  const auto strip = [&](int64_t j0) { return wide.data() + j0 * k; };  // j0: a multiple of kCols
  product<kCols>(m, k, strip, n, c, ldc, false, [&](int64_t i0, int rows, int64_t k0, int64_t kk, float* ap) {
    for (int r = 0; r < rows; ++r)
      std::memcpy(ap + r * kRowStride, x + (i0 + r) * k + k0, static_cast<size_t>(kk) * sizeof(float));
  });
}

void round_bf16(const float* x, uint16_t* y, int64_t n) {
  // f32_to_bf16 per element, which the compiler vectorises for AVX2 here.
  for (int64_t i = 0; i < n; ++i) y[i] = f32_to_bf16(x[i]);
}

}  // namespace wenxin::kernels::avx2
