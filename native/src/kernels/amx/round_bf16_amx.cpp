// Rounding float32 to bf16 on the AMX machines' AVX-512 BF16: VCVTNEPS2BF16 rounds 16 values to nearest
// even and quiets NaNs as f32_to_bf16 does in one instruction, but flushes denormal inputs to zero, so
// the 16 values that hold any go through AVX-512's integer rounding instead (bit for bit f32_to_bf16).
#include <immintrin.h>

#include "kernels/amx/amx.h"
#include "kernels/amx/tiles.h"
#include "kernels/avx512/avx512.h"
#include "kernels/avx512/lanes.h"

namespace wenxin::kernels::amx {

namespace {

// x[0, min(n, 16)) rounded into y.
inline void round16(const float* x, uint16_t* y, int64_t n) {
  n = n < 16 ? n : 16;
  const __mmask16 valid = avx512::first_lanes(n);
  const __m512 v = _mm512_maskz_loadu_ps(valid, x);
  const __m512i u = _mm512_castps_si512(v);
  const __mmask16 denormal = _mm512_test_epi32_mask(u, _mm512_set1_epi32(0x007FFFFF)) &
                             ~_mm512_test_epi32_mask(u, _mm512_set1_epi32(0x7F800000));
  if ((denormal & valid) != 0) {
    avx512::round_bf16(x, y, n);
    return;
  }
  const __m256bh r = _mm512_cvtneps_pbh(v);
  _mm256_mask_storeu_epi16(y, valid, reinterpret_cast<const __m256i&>(r));
}

}  // namespace

void round_bf16(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) round16(x + i, y + i, n - i);
}

void split_bf16(const float* x, uint16_t* hi, uint16_t* lo, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 valid = avx512::first_lanes(n - i);
    round16(x + i, hi + i, n - i);
    const __m512 h =
        _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(valid, hi + i)), 16));
    alignas(64) float rest[16];
    _mm512_store_ps(rest, _mm512_sub_ps(_mm512_maskz_loadu_ps(valid, x + i), h));
    round16(rest, lo + i, n - i);
  }
}

}  // namespace wenxin::kernels::amx
