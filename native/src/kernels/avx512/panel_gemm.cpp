// gemm_panels on AVX-512: a 12 × 32 register tile (24 accumulators) over each panel, each element of
// `a` broadcast from its row. gemm_panels_bf16 is the same tile over pairs of bf16 (vdpbf16ps where the
// CPU has AVX-512 BF16, two float32 FMAs per pair where not).
#include <immintrin.h>

#include <cstring>

#include "core/cpu_features.h"
#include "kernels/avx512/avx512.h"
#include "kernels/avx512/lanes.h"

namespace wenxin::kernels::avx512 {

namespace {

constexpr int kRows = 12;

// c[r][0, 32) += acc[2r], acc[2r + 1] for r < R, columns masked by m0 / m1; = when not `accumulate`.
template <int R>
inline void store_tile(const __m512* acc, float* c, int64_t ldc, __mmask16 m0, __mmask16 m1, bool accumulate) {
  if (!accumulate) {
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      _mm512_mask_storeu_ps(c + r * ldc, m0, acc[2 * r]);
      _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc[2 * r + 1]);
    }
    return;
  }
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
    float* cr = c + r * ldc;
    _mm512_mask_storeu_ps(cr, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), acc[2 * r]));
    _mm512_mask_storeu_ps(cr + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), acc[2 * r + 1]));
  }
}

// c[r][0, 32) (+)= Σ_p a[r * lda + p] · b[p][0, 32) for r < R.
template <int R>
void tile(const float* a, int64_t lda, int64_t k, const float* b, float* c, int64_t ldc, __mmask16 m0, __mmask16 m1,
          bool accumulate) {
  __m512 acc[2 * R];
#pragma GCC unroll 24
  for (int i = 0; i < 2 * R; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const __m512 b0 = _mm512_loadu_ps(b + p * kGemmPanel), b1 = _mm512_loadu_ps(b + p * kGemmPanel + 16);
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(a[r * lda + p]);
      acc[2 * r] = _mm512_fmadd_ps(av, b0, acc[2 * r]);
      acc[2 * r + 1] = _mm512_fmadd_ps(av, b1, acc[2 * r + 1]);
    }
  }
  store_tile<R>(acc, c, ldc, m0, m1, accumulate);
}

inline int32_t pair_at(const uint16_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// The bf16 tiles: c[r][0, 32) += Σ_q a[r][2q, 2q + 2) · b[q][0, 32)[2], with vdpbf16ps ...
template <int R>
__attribute__((target("avx512bf16"))) void tile_bf16(const uint16_t* a, int64_t lda, int64_t kp, const uint16_t* b,
                                                     float* c, int64_t ldc, __mmask16 m0, __mmask16 m1,
                                                     bool accumulate) {
  __m512 acc[2 * R];
#pragma GCC unroll 24
  for (int i = 0; i < 2 * R; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t q = 0; q < kp; ++q) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + q * 2 * kGemmPanel);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + q * 2 * kGemmPanel + kGemmPanel);
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(pair_at(a + r * lda + 2 * q));
      acc[2 * r] = _mm512_dpbf16_ps(acc[2 * r], av, b0);
      acc[2 * r + 1] = _mm512_dpbf16_ps(acc[2 * r + 1], av, b1);
    }
  }
  store_tile<R>(acc, c, ldc, m0, m1, accumulate);
}

// ... or widened: a pair's odd element is its high half, the even one its low half shifted up.
template <int R>
void tile_bf16_widened(const uint16_t* a, int64_t lda, int64_t kp, const uint16_t* b, float* c, int64_t ldc,
                       __mmask16 m0, __mmask16 m1, bool accumulate) {
  const __m512i high = _mm512_set1_epi32(static_cast<int32_t>(0xFFFF0000u));
  __m512 acc[2 * R];
#pragma GCC unroll 24
  for (int i = 0; i < 2 * R; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t q = 0; q < kp; ++q) {
    const __m512i b0 = _mm512_loadu_si512(b + q * 2 * kGemmPanel);
    const __m512i b1 = _mm512_loadu_si512(b + q * 2 * kGemmPanel + kGemmPanel);
    const __m512 b0o = _mm512_castsi512_ps(_mm512_and_si512(b0, high)),
                 b0e = _mm512_castsi512_ps(_mm512_slli_epi32(b0, 16));
    const __m512 b1o = _mm512_castsi512_ps(_mm512_and_si512(b1, high)),
                 b1e = _mm512_castsi512_ps(_mm512_slli_epi32(b1, 16));
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      const int32_t pair = pair_at(a + r * lda + 2 * q);
      const __m512 ao = _mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int32_t>(pair & 0xFFFF0000u)));
      const __m512 ae = _mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int32_t>(static_cast<uint32_t>(pair) << 16)));
      acc[2 * r] = _mm512_fmadd_ps(ae, b0e, _mm512_fmadd_ps(ao, b0o, acc[2 * r]));
      acc[2 * r + 1] = _mm512_fmadd_ps(ae, b1e, _mm512_fmadd_ps(ao, b1o, acc[2 * r + 1]));
    }
  }
  store_tile<R>(acc, c, ldc, m0, m1, accumulate);
}

template <typename A, typename B>
using TileFn = void (*)(const A*, int64_t, int64_t, const B*, float*, int64_t, __mmask16, __mmask16, bool);

// Walks c in 12-row blocks and 32-column panels, each tile by tiles[rows]; `depth` is k (float) or kp (bf16
// pairs), `panel` the elements of B one panel holds per unit of depth.
template <typename A, typename B>
void run_tiles(const TileFn<A, B>* tiles, bool accumulate, const A* a, int64_t lda, int64_t m, int64_t depth,
               const B* b, int64_t panel, int64_t n, float* c, int64_t ldc) {
  for (int64_t i0 = 0; i0 < m; i0 += kRows) {
    const int rows = static_cast<int>(m - i0 < kRows ? m - i0 : kRows);
    for (int64_t j0 = 0; j0 < n; j0 += kGemmPanel)
      tiles[rows](a + i0 * lda, lda, depth, b + (j0 / kGemmPanel) * panel * depth, c + i0 * ldc + j0, ldc,
                  first_lanes(n - j0), first_lanes(n - j0 - 16), accumulate);
  }
}

}  // namespace

void gemm_panels_f32(const float* a, int64_t lda, int64_t m, int64_t k, const float* b, int64_t n, float* c,
                     int64_t ldc, bool accumulate) {
  static constexpr TileFn<float, float> tiles[] = {nullptr, tile<1>, tile<2>, tile<3>,  tile<4>,  tile<5>, tile<6>,
                                                   tile<7>, tile<8>, tile<9>, tile<10>, tile<11>, tile<12>};
  run_tiles(tiles, accumulate, a, lda, m, k, b, kGemmPanel, n, c, ldc);
}

void gemm_panels(const float* a, int64_t lda, int64_t m, int64_t k, const float* b, int64_t n, float* c, int64_t ldc) {
  gemm_panels_f32(a, lda, m, k, b, n, c, ldc, true);
}

void gemm_panels_bf16_widened(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* b, int64_t n,
                              float* c, int64_t ldc, bool accumulate) {
  static constexpr TileFn<uint16_t, uint16_t> tiles[] = {nullptr,
                                                         tile_bf16_widened<1>,
                                                         tile_bf16_widened<2>,
                                                         tile_bf16_widened<3>,
                                                         tile_bf16_widened<4>,
                                                         tile_bf16_widened<5>,
                                                         tile_bf16_widened<6>,
                                                         tile_bf16_widened<7>,
                                                         tile_bf16_widened<8>,
                                                         tile_bf16_widened<9>,
                                                         tile_bf16_widened<10>,
                                                         tile_bf16_widened<11>,
                                                         tile_bf16_widened<12>};
  run_tiles(tiles, accumulate, a, lda, m, kp, b, 2 * kGemmPanel, n, c, ldc);
}

void gemm_panels_bf16(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* b, int64_t n, float* c,
                      int64_t ldc, bool accumulate) {
  static const bool native = cpu_features().avx512bf16;
  if (!native) {
    gemm_panels_bf16_widened(a, lda, m, kp, b, n, c, ldc, accumulate);
    return;
  }
  static constexpr TileFn<uint16_t, uint16_t> tiles[] = {
      nullptr,      tile_bf16<1>, tile_bf16<2>, tile_bf16<3>,  tile_bf16<4>,  tile_bf16<5>, tile_bf16<6>,
      tile_bf16<7>, tile_bf16<8>, tile_bf16<9>, tile_bf16<10>, tile_bf16<11>, tile_bf16<12>};
  run_tiles(tiles, accumulate, a, lda, m, kp, b, 2 * kGemmPanel, n, c, ldc);
}

void round_bf16(const float* x, uint16_t* y, int64_t n) {
  // f32_to_bf16 of 16 at a time: + 0x7FFF + the kept part's lowest bit, then the high half; a NaN's high
  // half with the quiet bit set.
  const __m512i abs_mask = _mm512_set1_epi32(0x7FFFFFFF), inf = _mm512_set1_epi32(0x7F800000),
                round = _mm512_set1_epi32(0x7FFF), one = _mm512_set1_epi32(1), quiet = _mm512_set1_epi32(0x40);
  int64_t i = 0;
  for (; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    const __m512i u = _mm512_castps_si512(_mm512_maskz_loadu_ps(m, x + i));
    const __m512i high = _mm512_srli_epi32(u, 16);
    const __m512i rounded =
        _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, round), _mm512_and_si512(high, one)), 16);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, abs_mask), inf);
    const __m512i v = _mm512_mask_or_epi32(rounded, nan, high, quiet);
    _mm256_mask_storeu_epi16(y + i, m, _mm512_cvtepi32_epi16(v));
  }
}

}  // namespace wenxin::kernels::avx512
