// AVX-512's e^x and 2^x of 16 floats, shared by the attention kernels (the AVX-512 one and AMX's prefill).
#pragma once

#include <immintrin.h>

#include "kernels/exp_poly.h"

namespace wenxin::kernels::avx512 {

// e^x (exp_poly.h), 2^n applied by vscalefps; x below kMin gives exactly 0 (e^-inf included).
inline __m512 exp512(__m512 x) {
  using namespace exp_poly;
  const __mmask16 live = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kMin), _CMP_GE_OQ);
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(kMin)), _mm512_set1_ps(kMax));
  const __m512 n =
      _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kP[0]);
  for (int i = 1; i < kDegree; ++i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP[i]));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_maskz_scalef_ps(live, p, n);
}

// 2^x (exp_poly.h) for x <= 127; 0 below kMin2 (2^-inf included), so no lane makes a denormal, whose
// microcode assist costs more than the whole exponential.
inline __m512 exp2_512(__m512 x) {
  using namespace exp_poly;
  const __mmask16 live = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kMin2), _CMP_GE_OQ);
  const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 r = _mm512_sub_ps(x, n);
  __m512 q = _mm512_set1_ps(kQ[0]);
  for (int i = 1; i < kDegree2; ++i) q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(kQ[i]));
  return _mm512_maskz_scalef_ps(live, _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f)), n);
}

}  // namespace wenxin::kernels::avx512
