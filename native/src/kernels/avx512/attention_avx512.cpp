// AVX-512 attention: attention_tiled.inc over 16-lane zmm vectors.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/attention_x86.h"
#include "kernels/avx512/exp512.h"
#include "kernels/avx512/transpose16.h"

namespace wenxin::kernels::avx512 {

namespace {

struct Vec {
  using F = __m512;
  static constexpr int64_t kLanes = 16;
  // QKᵀ: 2 row vectors (32 query rows) × 8 keys, so the row slab of qt (d × 32 floats) and the key
  // tile stay in L1; PV: 4 rows × 4 vectors (64 of the head dim). 16 accumulators of 32 registers.
  static constexpr int kQkVecs = 2;
  static constexpr int qk_keys(int) { return 8; }
  static constexpr int kPvRows = 4, kPvVecs = 4;

  static F zero() { return _mm512_setzero_ps(); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static void stream(float* p, F v) { _mm512_stream_ps(p, v); }  // p aligned to the vector
  static F set1(float x) { return _mm512_set1_ps(x); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F neg_inf() { return _mm512_set1_ps(-std::numeric_limits<float>::infinity()); }
  static F finite_or_zero(F m) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(m, neg_inf(), _CMP_EQ_OQ), m, zero()); }
  static F mask_later(F s, F qrel, float p) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(qrel, _mm512_set1_ps(p), _CMP_LT_OQ), s, neg_inf());
  }
  static F exp(F x) { return exp512(x); }
  static F exp2(F x) { return exp2_512(x); }
  // c[x] = (src[0][i + x], ..., src[15][i + x]).
  static void load_transposed(const float* const* src, int64_t i, F c[kLanes]) {
    for (int j = 0; j < kLanes; ++j) c[j] = _mm512_loadu_ps(src[j] + i);
    transpose16(c);
  }
  static void widen_bf16(const uint16_t* src, int64_t d, float* dst) {
    int64_t i = 0;
    for (; i + 16 <= d; i += 16) {
      const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)));
      _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
    }
    if (i < d) {
      const __mmask16 k = static_cast<__mmask16>((1u << (d - i)) - 1);
      const __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, src + i));
      _mm512_mask_storeu_ps(dst + i, k, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
    }
  }
  static void widen_i8(const int8_t* src, float scale, int64_t d, float* dst) {
    const F s = _mm512_set1_ps(scale);
    int64_t i = 0;
    for (; i + 16 <= d; i += 16) {
      const __m512i w = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
      _mm512_storeu_ps(dst + i, _mm512_mul_ps(_mm512_cvtepi32_ps(w), s));
    }
    if (i < d) {
      const __mmask16 k = static_cast<__mmask16>((1u << (d - i)) - 1);
      const __m512i w = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(k, src + i));
      _mm512_mask_storeu_ps(dst + i, k, _mm512_mul_ps(_mm512_cvtepi32_ps(w), s));
    }
  }
};

#include "kernels/attention_tiled.inc"

}  // namespace

void attention(const AttentionArgs& args, const AttentionPartial& out) { tiled::attention(args, out); }
void exp_f32(const float* x, float* y, int64_t n) { tiled::exp_f32(x, y, n); }

}  // namespace wenxin::kernels::avx512
