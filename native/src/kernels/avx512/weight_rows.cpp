// Products through a bf16 weight's rows as they are stored, a block of its rows at a time laid out as
// gemm_panels panels in a thread's scratch: gemm_rows_bf16 (training's forward in bf16 compute, so that no
// panels of W are packed and kept for it) multiplies them as gemm_panels_bf16 does (vdpbf16ps where the CPU
// has AVX-512 BF16, two float32 FMAs per pair where not); gemm_float_bf16_rows (prefill through a bf16
// weight) widens them to float32 panels for gemm_panels' 12 × 32 tile.
#include <immintrin.h>

#include <algorithm>

#include "core/aligned_vector.h"
#include "kernels/avx512/avx512.h"
#include "kernels/avx512/lanes.h"
#include "kernels/avx512/transpose16.h"

namespace wenxin::kernels::avx512 {

namespace {

// A panel of `count` rows of 32 lanes of 32-bit values from W's first `rows` rows (at most 32; lanes past
// them zero): load(row, s, mask) gives 16 values of that row from step s, the first lanes of `mask` read;
// 16 × 16 of them transposed at a time into panel[s][lane].
template <class Load>
void lay_panel(int64_t rows, int64_t count, float* panel, const Load& load) {
  for (int64_t s0 = 0; s0 < count; s0 += 16) {
    const int64_t left = count - s0, q_end = left < 16 ? left : 16;
    for (int half = 0; half < 2; ++half) {
      __m512 r[16];
      for (int i = 0; i < 16; ++i) {
        const int64_t row = 16 * half + i;
        r[i] = row < rows ? load(row, s0, first_lanes(left)) : _mm512_setzero_ps();
      }
      transpose16(r);
      for (int64_t q = 0; q < q_end; ++q) _mm512_storeu_ps(panel + (s0 + q) * kGemmPanel + 16 * half, r[q]);
    }
  }
}

// W's first `rows` rows of bf16 as one float32 panel [k][32] (gemm_panels'), each value widened.
void lay_rows_panel_f32(const uint16_t* w, int64_t ldw, int64_t rows, int64_t k, float* panel) {
  lay_panel(rows, k, panel, [&](int64_t row, int64_t s0, __mmask16 mask) {
    const __m256i h = _mm256_maskz_loadu_epi16(mask, w + row * ldw + s0);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  });
}

}  // namespace

void lay_rows_panel(const uint16_t* w, int64_t ldw, int64_t rows, int64_t kp, uint32_t* panel) {
  lay_panel(rows, kp, reinterpret_cast<float*>(panel), [&](int64_t row, int64_t s0, __mmask16 mask) {
    return _mm512_maskz_loadu_ps(mask, w + row * ldw + 2 * s0);  // 16 pairs as 32-bit lanes
  });
}

void gemm_float_bf16_rows(const float* x, int64_t m, int64_t k, const uint16_t* w, int64_t ldw, int64_t n, float* c,
                          int64_t ldc) {
  const int64_t count = (n + kGemmPanel - 1) / kGemmPanel;
  thread_local aligned_vector<float> panels;
  panels.resize(static_cast<size_t>(count * k * kGemmPanel));
  for (int64_t pn = 0; pn < count; ++pn)
    lay_rows_panel_f32(w + pn * kGemmPanel * ldw, ldw, std::min(kGemmPanel, n - pn * kGemmPanel), k,
                       panels.data() + pn * k * kGemmPanel);
  gemm_panels_f32(x, k, m, k, panels.data(), n, c, ldc, false);
}

void gemm_rows_bf16(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* w, int64_t ldw, int64_t n,
                    float* c, int64_t ldc, bool accumulate) {
  // Blocks of ~512 KB of panels stay in L2 (1 MB a core on Zen 4 and 5) while every row of `a` passes.
  constexpr int64_t kBlockBytes = 512 << 10;
  const int64_t width = std::max<int64_t>(1, kBlockBytes / (kp * 4 * kGemmPanel)) * kGemmPanel;
  thread_local aligned_vector<uint32_t> panels;
  panels.resize(static_cast<size_t>((std::min(n, width) + kGemmPanel - 1) / kGemmPanel * kp * kGemmPanel));
  for (int64_t v0 = 0; v0 < n; v0 += width) {
    const int64_t v1 = std::min(n, v0 + width);
    for (int64_t p0 = v0; p0 < v1; p0 += kGemmPanel)
      lay_rows_panel(w + p0 * ldw, ldw, std::min(kGemmPanel, v1 - p0), kp, panels.data() + (p0 - v0) * kp);
    gemm_panels_bf16(a, lda, m, kp, reinterpret_cast<const uint16_t*>(panels.data()), v1 - v0, c + v0, ldc, accumulate);
  }
}

}  // namespace wenxin::kernels::avx512
