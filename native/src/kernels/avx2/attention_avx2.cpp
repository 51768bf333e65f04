// AVX2 attention: attention_tiled.inc over 8-lane ymm vectors (16 registers: smaller blocks).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/attention_x86.h"
#include "kernels/avx2/transpose8.h"
#include "kernels/exp_poly.h"

namespace wenxin::kernels::avx2 {

namespace {

struct Vec {
  using F = __m256;
  static constexpr int64_t kLanes = 8;
  // QKᵀ: 3 row vectors × 4 keys or 1 × 8; PV: 4 rows × 3 vectors of the head dim. 12 accumulators (with
  // the row or value vectors and a broadcast, all 16 registers) hide the 4-cycle FMA latency of Zen 3 at 2 FMAs
  // per cycle, which 8 did only just: prefill attention 31-33 -> 34-36 GMAC/s (wenxin_kernel_bench, alternated).
  static constexpr int kQkVecs = 3;
  static constexpr int qk_keys(int nv) { return nv == 1 ? 8 : 4; }
  static constexpr int kPvRows = 4, kPvVecs = 3;

  static F zero() { return _mm256_setzero_ps(); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static void stream(float* p, F v) { _mm256_stream_ps(p, v); }  // p aligned to the vector
  static F set1(float x) { return _mm256_set1_ps(x); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F neg_inf() { return _mm256_set1_ps(-std::numeric_limits<float>::infinity()); }
  static F finite_or_zero(F m) { return _mm256_blendv_ps(m, zero(), _mm256_cmp_ps(m, neg_inf(), _CMP_EQ_OQ)); }
  static F mask_later(F s, F qrel, float p) {
    return _mm256_blendv_ps(s, neg_inf(), _mm256_cmp_ps(qrel, _mm256_set1_ps(p), _CMP_LT_OQ));
  }
  // e^x (exp_poly.h), 2^n built in the exponent bits (n >= -126 after the clamp); 0 below kMin.
  static F exp(F x) {
    using namespace exp_poly;
    const F live = _mm256_cmp_ps(x, _mm256_set1_ps(kMin), _CMP_GE_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(kMin)), _mm256_set1_ps(kMax));
    const F n =
        _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    F r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
    F p = _mm256_set1_ps(kP[0]);
    for (int i = 1; i < kDegree; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP[i]));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), live);
  }
  // 2^x (exp_poly.h) for x <= 127, 2^n built in the exponent bits; 0 below kMin2 (2^-inf's NaN lanes
  // included), so no lane makes a denormal.
  static F exp2(F x) {
    using namespace exp_poly;
    const F live = _mm256_cmp_ps(x, _mm256_set1_ps(kMin2), _CMP_GE_OQ);
    const F n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const F r = _mm256_sub_ps(x, n);
    F q = _mm256_set1_ps(kQ[0]);
    for (int i = 1; i < kDegree2; ++i) q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(kQ[i]));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(_mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f)), _mm256_castsi256_ps(e)), live);
  }
  // c[x] = (src[0][i + x], ..., src[7][i + x]).
  static void load_transposed(const float* const* src, int64_t i, F c[kLanes]) {
    for (int j = 0; j < 8; ++j) c[j] = _mm256_loadu_ps(src[j] + i);
    transpose8(c);
  }
  static void widen_bf16(const uint16_t* src, int64_t d, float* dst) {
    int64_t i = 0;
    for (; i + 8 <= d; i += 8) {
      const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
      _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
    }
    for (; i < d; ++i) {
      const uint32_t bits = static_cast<uint32_t>(src[i]) << 16;
      std::memcpy(dst + i, &bits, 4);
    }
  }
  static void widen_i8(const int8_t* src, float scale, int64_t d, float* dst) {
    const F s = _mm256_set1_ps(scale);
    int64_t i = 0;
    for (; i + 8 <= d; i += 8) {
      int64_t raw;
      std::memcpy(&raw, src + i, 8);
      const __m256i w = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(raw));
      _mm256_storeu_ps(dst + i, _mm256_mul_ps(_mm256_cvtepi32_ps(w), s));
    }
    for (; i < d; ++i) dst[i] = static_cast<float>(src[i]) * scale;
  }
};

#include "kernels/attention_tiled.inc"

}  // namespace

void attention(const AttentionArgs& args, const AttentionPartial& out) { tiled::attention(args, out); }
void exp_f32(const float* x, float* y, int64_t n) { tiled::exp_f32(x, y, n); }

}  // namespace wenxin::kernels::avx2
