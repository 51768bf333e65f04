// AVX2 + FMA + F16C kernels. Without VNNI, int8 products use the sign trick:
// |x| (unsigned) times sign(x)·w (signed) through maddubs, which cannot saturate for |x|, |w| <= 127.
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/attention_x86.h"
#include "kernels/avx2/avx2.h"
#include "kernels/gemv_segments.h"
#include "kernels/generic/generic.h"
#include "kernels/panel_blocking.h"

namespace wenxin::kernels::avx2 {

namespace {

inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 h = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_shuffle_ps(h, h, 1)));
}

template <DType WT>
inline __m256 load_w8(const uint8_t* row, int64_t k) {
  if constexpr (WT == DType::kF32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + k);
  } else if constexpr (WT == DType::kBF16) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const uint16_t*>(row) + k));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  } else {
    return _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const uint16_t*>(row) + k)));
  }
}

template <DType WT>
inline float scalar_w(const uint8_t* row, int64_t k) {
  if constexpr (WT == DType::kF32)
    return reinterpret_cast<const float*>(row)[k];
  else if constexpr (WT == DType::kBF16)
    return bf16_to_f32(reinterpret_cast<const uint16_t*>(row)[k]);
  else
    return f16_to_f32(reinterpret_cast<const uint16_t*>(row)[k]);
}

// R rows (n, n + rs, ..., n + (R - 1) · rs) × TT tokens.
template <DType WT, int R, int TT>
void float_tile(const float* x, int64_t k, const uint8_t* w, size_t rb, int64_t n, float* y, int64_t ldy,
                int64_t rs = 1) {
  __m256 acc[R][TT];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) acc[r][t] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= k; i += 8) {
    __m256 xv[TT];
    for (int t = 0; t < TT; ++t) xv[t] = _mm256_loadu_ps(x + t * k + i);
    for (int r = 0; r < R; ++r) {
      const __m256 wv = load_w8<WT>(w + (n + r * rs) * rb, i);
      for (int t = 0; t < TT; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) {
      float s = hsum(acc[r][t]);
      for (int64_t j = i; j < k; ++j) s += scalar_w<WT>(w + (n + r * rs) * rb, j) * x[t * k + j];
      y[t * ldy + n + r * rs] = s;
    }
}

template <DType WT>
void gemm_float_typed(const float* x, int64_t T, int64_t k, const uint8_t* w, size_t rb, int64_t n0, int64_t n1,
                      float* y, int64_t ldy) {
  if (T == 1) {  // decode: 8 rows from 8 segments (gemv_segments.h)
    for_each_segment_tile<8>(
        n0, n1, [&](int64_t n, int64_t rs) { float_tile<WT, 8, 1>(x, k, w, rb, n, y, ldy, rs); },
        [&](int64_t n) { float_tile<WT, 1, 1>(x, k, w, rb, n, y, ldy); });
    return;
  }
  // Token rows in blocks of 32 (activations in L2), then weight rows, then the block's tokens, so the
  // weight tile stays in L1 across the block and a batched decode streams each matrix once.
  constexpr int64_t kTokenBlock = 32;
  for (int64_t t0 = 0; t0 < T; t0 += kTokenBlock) {
    const int64_t t1 = T - t0 < kTokenBlock ? T : t0 + kTokenBlock;
    int64_t n = n0;
    for (; n + 4 <= n1; n += 4)
      for (int64_t t = t0; t < t1; t += 2) {
        if (t1 - t >= 2)
          float_tile<WT, 4, 2>(x + t * k, k, w, rb, n, y + t * ldy, ldy);
        else
          float_tile<WT, 4, 1>(x + t * k, k, w, rb, n, y + t * ldy, ldy);
      }
    for (; n < n1; ++n)
      for (int64_t t = t0; t < t1; t += 2) {
        if (t1 - t >= 2)
          float_tile<WT, 1, 2>(x + t * k, k, w, rb, n, y + t * ldy, ldy);
        else
          float_tile<WT, 1, 1>(x + t * k, k, w, rb, n, y + t * ldy, ldy);
      }
  }
}

// bf16 weights, 16 at a time: one 32-byte load holds 8 pairs (element 2j in the low half of 32-bit lane
// j, 2j + 1 in the high half), so a shift and a mask give the even and the odd elements as floats, two
// ops per 16 weights against the activations split the same way once per call (`xs`: per token, per
// 16 elements, the 8 even ones then the 8 odd ones). R rows (n, n + rs, ...) × TT tokens. Every TT adds
// the products in the same order (one accumulator per row and token), so a token's output does not
// depend on how many tokens share its tile: a text embeds, and a sequence decodes, alike alone and in
// a batch. Decode is bound by memory, not by its R FMA chains.
template <int R, int TT>
void bf16_tile(const float* xs, const float* x, int64_t k, const uint8_t* w, size_t rb, int64_t n, float* y,
               int64_t ldy, int64_t rs = 1) {
  const int64_t k16 = k / 16 * 16;
  __m256 acc[R][TT];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) acc[r][t] = _mm256_setzero_ps();
  const __m256i high = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
  for (int64_t i = 0; i < k16; i += 16) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + (n + r * rs) * rb + 2 * i));
      const __m256 we = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
      const __m256 wo = _mm256_castsi256_ps(_mm256_and_si256(v, high));
#pragma GCC unroll 8
      for (int t = 0; t < TT; ++t) {
        acc[r][t] = _mm256_fmadd_ps(we, _mm256_loadu_ps(xs + t * k16 + i), acc[r][t]);
        acc[r][t] = _mm256_fmadd_ps(wo, _mm256_loadu_ps(xs + t * k16 + i + 8), acc[r][t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      float s = hsum(acc[r][t]);
      for (int64_t j = k16; j < k; ++j) s += scalar_w<DType::kBF16>(w + (n + r * rs) * rb, j) * x[t * k + j];
      y[t * ldy + n + r * rs] = s;
    }
}

void gemm_bf16(const float* x, int64_t T, int64_t k, const uint8_t* w, size_t rb, int64_t n0, int64_t n1, float* y,
               int64_t ldy) {
  // Prefill: W's rows widened once into float32 strips, for the panel products' tile (two weight loads, six
  // broadcasts and twelve FMAs a step: the FMA units' rate) where bf16_tile widens each weight per use and
  // loads an activation per FMA.
  if (T >= kLayoutTokens) {
    const int64_t ldw = static_cast<int64_t>(rb / 2);
    gemm_float_bf16_rows(x, T, k, reinterpret_cast<const uint16_t*>(w) + n0 * ldw, ldw, n1 - n0, y + n0, ldy);
    return;
  }
  const int64_t k16 = k / 16 * 16;
  thread_local std::vector<float> split;
  if (split.size() < static_cast<size_t>(T * k16)) split.resize(T * k16);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < k16; i += 16) {
      const __m256 a = _mm256_loadu_ps(x + t * k + i), b = _mm256_loadu_ps(x + t * k + i + 8);
      const __m256 even = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
      const __m256 odd = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
      _mm256_storeu_ps(split.data() + t * k16 + i,
                       _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8)));
      _mm256_storeu_ps(split.data() + t * k16 + i + 8,
                       _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(odd), 0xD8)));
    }
  const float* xs = split.data();
  if (T == 1) {  // decode: 4 rows from 4 segments (gemv_segments.h)
    for_each_segment_tile<4>(
        n0, n1, [&](int64_t n, int64_t rs) { bf16_tile<4, 1>(xs, x, k, w, rb, n, y, ldy, rs); },
        [&](int64_t n) { bf16_tile<1, 1>(xs, x, k, w, rb, n, y, ldy); });
    return;
  }
  // Token rows in blocks of 30 (activations in L2), weight rows 4 at a time, then the block's tokens
  // 3 at a time: 12 accumulators and the row's two converted halves fit the 16 ymm registers.
  constexpr int64_t kTokenBlock = 30;
  for (int64_t t0 = 0; t0 < T; t0 += kTokenBlock) {
    const int64_t t1 = T - t0 < kTokenBlock ? T : t0 + kTokenBlock;
    auto rows = [&](auto r_const, int64_t n) {
      constexpr int R = decltype(r_const)::value;
      int64_t t = t0;
      for (; t + 3 <= t1; t += 3) bf16_tile<R, 3>(xs + t * k16, x + t * k, k, w, rb, n, y + t * ldy, ldy);
      if (t1 - t == 2) bf16_tile<R, 2>(xs + t * k16, x + t * k, k, w, rb, n, y + t * ldy, ldy);
      if (t1 - t == 1) bf16_tile<R, 1>(xs + t * k16, x + t * k, k, w, rb, n, y + t * ldy, ldy);
    };
    int64_t n = n0;
    for (; n + 4 <= n1; n += 4) rows(std::integral_constant<int, 4>{}, n);
    for (; n < n1; ++n) rows(std::integral_constant<int, 1>{}, n);
  }
}

void gemm_float(const float* x, int64_t T, int64_t k, const void* w, DType wt, size_t rb, int64_t n0, int64_t n1,
                float* y, int64_t ldy) {
  const auto* wb = static_cast<const uint8_t*>(w);
  switch (wt) {
    case DType::kF32: gemm_float_typed<DType::kF32>(x, T, k, wb, rb, n0, n1, y, ldy); break;
    case DType::kBF16: gemm_bf16(x, T, k, wb, rb, n0, n1, y, ldy); break;
    default: gemm_float_typed<DType::kF16>(x, T, k, wb, rb, n0, n1, y, ldy); break;
  }
}

#include "kernels/quantized_row_x86.inc"

void quantize_row_q8(const float* x, int64_t row, QuantizedActivations* out) {
  QuantizedRowWriter writer(out, row);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  for (int64_t b = 0; b < out->blocks(); ++b) {
    __m256 v[4];
    __m256 mx = _mm256_setzero_ps();
    for (int j = 0; j < 4; ++j) {
      v[j] = _mm256_loadu_ps(x + b * kQBlock + 8 * j);
      mx = _mm256_max_ps(mx, _mm256_and_ps(v[j], abs_mask));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
    const float d = _mm_cvtss_f32(m4) / 127.0f;
    const __m256 inv = _mm256_set1_ps(d > 0 ? 1.0f / d : 0.0f);
    __m256i iv[4];
    for (int j = 0; j < 4; ++j) iv[j] = _mm256_cvtps_epi32(_mm256_mul_ps(v[j], inv));
    // pack 32 int32 → 32 int8 in order (packs interleave 128-bit lanes; undo with a permute)
    const __m256i p01 = _mm256_packs_epi32(iv[0], iv[1]);
    const __m256i p23 = _mm256_packs_epi32(iv[2], iv[3]);
    __m256i p = _mm256_packs_epi16(p01, p23);
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    writer.block(b, p, d);
  }
  writer.finish();
}

// Sum of the int8 products of one 32-element block, as 8 int32 lanes.
inline __m256i block_dot(__m256i w_signed, __m256i x) {
  const __m256i ax = _mm256_sign_epi8(x, x);
  const __m256i sw = _mm256_sign_epi8(w_signed, x);
  return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sw), _mm256_set1_epi16(1));
}

inline __m256i load_q8_signed(const uint8_t* p) {
  return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)),
                          _mm256_set1_epi8(static_cast<char>(0x80)));
}

// Block b (32 elements) of a packed q4 row, as signed int8 (q - 8).
inline __m256i load_q4_block_signed(const uint8_t* row, int64_t k, int64_t b) {
  const int64_t c = b / 2;
  const int64_t chunk_elems = k - c * kQChunk >= kQChunk ? kQChunk : k - c * kQChunk;
  const uint8_t* src = row + c * (kQChunk / 2);
  __m128i lo, hi;
  if (chunk_elems == kQChunk) {  // bytes 0..31 hold block 2c (low nibbles) and block 2c + 1 (high nibbles)
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
    const __m256i nib = (b % 2 == 0) ? v : _mm256_srli_epi16(v, 4);
    const __m256i q = _mm256_and_si256(nib, _mm256_set1_epi8(0x0F));
    return _mm256_sub_epi8(q, _mm256_set1_epi8(8));
  }
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
  lo = _mm_and_si128(v, _mm_set1_epi8(0x0F));
  hi = _mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0x0F));
  const __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
  return _mm256_sub_epi8(q, _mm256_set1_epi8(8));
}

template <bool Q4, int R, int TT>
void quant_tile(const QuantizedActivations& x, int64_t t0, const QuantizedMatrix& w, int64_t n, float* y, int64_t ldy) {
  const int64_t k = x.k, nb = x.blocks();
  __m256 acc[R][TT];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) acc[r][t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m256i xv[TT];
    for (int t = 0; t < TT; ++t)
      xv[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.q.data() + (t0 + t) * k + b * kQBlock));
    for (int r = 0; r < R; ++r) {
      const __m256i wv = Q4 ? load_q4_block_signed(w.data + (n + r) * q4_row_bytes(k), k, b)
                            : load_q8_signed(w.data + (n + r) * k + b * kQBlock);
      const float sw = f16_to_f32(w.block_scale[(n + r) * nb + b]);
      for (int t = 0; t < TT; ++t) {
        const __m256 s = _mm256_set1_ps(sw * x.scale[(t0 + t) * nb + b]);
        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_dot(wv, xv[t])), s, acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) y[(t0 + t) * ldy + n + r] = hsum(acc[r][t]);
}

template <bool Q4>
void quant_gemm(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y,
                int64_t ldy) {
  const int64_t T = x.rows;
  for (int64_t t = 0; t < T; t += 2) {
    const int64_t tt = T - t < 2 ? T - t : 2;
    int64_t n = n0;
    for (; n + 4 <= n1; n += 4) {
      if (tt == 2)
        quant_tile<Q4, 4, 2>(x, t, w, n, y, ldy);
      else
        quant_tile<Q4, 4, 1>(x, t, w, n, y, ldy);
    }
    for (; n < n1; ++n) {
      if (tt == 2)
        quant_tile<Q4, 1, 2>(x, t, w, n, y, ldy);
      else
        quant_tile<Q4, 1, 1>(x, t, w, n, y, ldy);
    }
  }
}

// The repacked tiles (packed_gemm.cpp) when the weights have them, else the plain layout.
void gemm_q8(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  if (w.packed)
    gemm_packed(false, x, w, n0, n1, y, ldy);
  else
    quant_gemm<false>(x, w, n0, n1, y, ldy);
}
void gemm_q4(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  if (w.packed)
    gemm_packed(true, x, w, n0, n1, y, ldy);
  else
    quant_gemm<true>(x, w, n0, n1, y, ldy);
}

float max_value(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(x[0]);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) m = _mm256_max_ps(_mm256_loadu_ps(x + i), m);
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  float r = _mm_cvtss_f32(_mm_max_ss(h, _mm_shuffle_ps(h, h, 1)));
  for (; i < n; ++i) r = r < x[i] ? x[i] : r;
  return r;
}

float dot(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float s = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy(float a, const float* x, float* y, int64_t n) {
  const __m256 av = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

namespace shared {
#include "kernels/silu_mul.inc"
#include "kernels/softmax_passes.inc"
}  // namespace shared

const KernelTable kTable = {
    .name = "avx2",
    .gemm_float = gemm_float,
    .quantize_row_q8 = quantize_row_q8,
    .gemm_q8 = gemm_q8,
    .gemm_q4 = gemm_q4,
    .repack = repack,
    .pack_rows = kPackRowsAvx2,
    .pack_block_bytes_q8 = avx2::kPackBlockBytesQ8Avx2,
    .pack_block_bytes_q4 = avx2::kPackBlockBytesQ4Avx2,
    .gemm_fp8 = generic::gemm_fp8,
    .attention = attention,
    .dot_f32 = dot,
    .axpy_f32 = axpy,
    .dequantize = dequantize,
    .interleaved_q4_tiles = true,
    .gemm_panels = gemm_panels,
    .gemm_panels_bf16 = gemm_panels_bf16,
    .round_bf16 = round_bf16,
    .exp_f32 = exp_f32,
    .silu_mul_f32 = shared::silu_mul,
    .silu_mul_grad_f32 = shared::silu_mul_grad,
    .max_f32 = max_value,
    .exp_sum_f32 = shared::exp_sum,
    .panels_bf16_depth = panel_blocking::kWidenedPairsDepth,
};

void shared::gemm_float(const float* x, int64_t T, int64_t k, const void* w, DType wt, size_t rb, int64_t n0,
                        int64_t n1, float* y, int64_t ldy) {
  avx2::gemm_float(x, T, k, w, wt, rb, n0, n1, y, ldy);
}
void shared::quantize_row_q8(const float* x, int64_t row, QuantizedActivations* out) {
  avx2::quantize_row_q8(x, row, out);
}
void shared::attention(const AttentionArgs& args, const AttentionPartial& out) { avx2::attention(args, out); }
float shared::dot(const float* a, const float* b, int64_t n) { return avx2::dot(a, b, n); }
float shared::max_value(const float* x, int64_t n) { return avx2::max_value(x, n); }
void shared::axpy(float a, const float* x, float* y, int64_t n) { avx2::axpy(a, x, y, n); }

}  // namespace wenxin::kernels::avx2
