// An 8 × 8 transpose of 32-bit values in 8 ymm registers: the AVX2 attention lays its queries out with it,
// prefill's products through a bf16 weight its rows as float32 strips.
#pragma once

#include <immintrin.h>

namespace wenxin::kernels::avx2 {

// On entry r[i] is row i of an 8 × 8 block of 32-bit values, on return r[i] is its column i.
inline void transpose8(__m256 r[8]) {
  __m256 t[8];
  for (int j = 0; j < 8; j += 2) {
    t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
    t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
  }
  for (int j = 0; j < 8; j += 4) {  // rows j .. j + 3: columns (0, 4), (1, 5), (2, 6), (3, 7)
    r[j] = _mm256_shuffle_ps(t[j], t[j + 2], 0x44);
    r[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], 0xEE);
    r[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0x44);
    r[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
  }
  for (int x = 0; x < 4; ++x) {
    t[x] = _mm256_permute2f128_ps(r[x], r[4 + x], 0x20);
    t[4 + x] = _mm256_permute2f128_ps(r[x], r[4 + x], 0x31);
  }
  for (int x = 0; x < 8; ++x) r[x] = t[x];
}

}  // namespace wenxin::kernels::avx2
