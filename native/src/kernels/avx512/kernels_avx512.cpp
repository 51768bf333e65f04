// AVX-512 kernels (F, BW, VL, DQ, VNNI). Compiled only with this folder's flags; reached only
// through dispatch.cpp when the CPU has every feature.
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/attention_x86.h"
#include "kernels/avx512/avx512.h"
#include "kernels/avx512/lanes.h"
#include "kernels/gemv_segments.h"
#include "kernels/generic/generic.h"

namespace wenxin::kernels::avx512 {

namespace {

template <DType WT>
inline __m512 load_w(const uint8_t* row, int64_t k, __mmask16 m) {
  if constexpr (WT == DType::kF32) {
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + k);
  } else if constexpr (WT == DType::kBF16) {
    const __m256i h = _mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + k);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  } else {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + k));
  }
}

// R weight rows × TT tokens, all of K: R × TT accumulators stay in registers (a flat array and
// fully unrolled loops, so the compiler keeps it out of memory).
// Rows n, n + rs, ..., n + (R - 1) · rs.
template <DType WT, int R, int TT>
void float_tile(const float* x, int64_t k, const uint8_t* w, size_t rb, int64_t n, float* y, int64_t ldy,
                int64_t rs = 1) {
  __m512 acc[R * TT];
#pragma GCC unroll 32
  for (int i = 0; i < R * TT; ++i) acc[i] = _mm512_setzero_ps();
  const int64_t full = k / 16 * 16;
  for (int64_t i = 0; i < full; i += 16) {
    __m512 xv[TT];
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) xv[t] = _mm512_loadu_ps(x + t * k + i);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 wv = load_w<WT>(w + (n + r * rs) * rb, i, static_cast<__mmask16>(0xFFFF));
#pragma GCC unroll 8
      for (int t = 0; t < TT; ++t) acc[r * TT + t] = _mm512_fmadd_ps(wv, xv[t], acc[r * TT + t]);
    }
  }
  if (full < k) {
    const __mmask16 m = first_lanes(k - full);
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, x + t * k + full);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r)
        acc[r * TT + t] = _mm512_fmadd_ps(load_w<WT>(w + (n + r * rs) * rb, full, m), xv, acc[r * TT + t]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) y[t * ldy + n + r * rs] = _mm512_reduce_add_ps(acc[r * TT + t]);
}

template <DType WT>
void gemm_float_typed(const float* x, int64_t T, int64_t k, const uint8_t* w, size_t rb, int64_t n0, int64_t n1,
                      float* y, int64_t ldy) {
  if (WT == DType::kBF16 && T >= kLayoutTokens) {  // prefill: W's rows widened once into float32 panels
    const int64_t ldw = static_cast<int64_t>(rb / 2);
    gemm_float_bf16_rows(x, T, k, reinterpret_cast<const uint16_t*>(w) + n0 * ldw, ldw, n1 - n0, y + n0, ldy);
    return;
  }
  if (T == 1) {  // decode: 8 rows (8 FMA chains) from 8 segments (gemv_segments.h)
    for_each_segment_tile<8>(
        n0, n1, [&](int64_t n, int64_t rs) { float_tile<WT, 8, 1>(x, k, w, rb, n, y, ldy, rs); },
        [&](int64_t n) { float_tile<WT, 1, 1>(x, k, w, rb, n, y, ldy); });
    return;
  }
  // Token rows in blocks of 32 (their activations stay in L2), weight rows next, then the block's
  // tokens: a tile's 4 weight rows stay in L1 while the block's tokens use them, so a batched decode
  // streams each matrix from memory once rather than once per 4 tokens.
  auto tiles = [&](auto rows, int64_t n, int64_t t0, int64_t t1) {
    constexpr int R = decltype(rows)::value;
    for (int64_t t = t0; t < t1; t += 4) {
      const float* xt = x + t * k;
      float* yt = y + t * ldy;
      switch (t1 - t < 4 ? t1 - t : 4) {
        case 4: float_tile<WT, R, 4>(xt, k, w, rb, n, yt, ldy); break;
        case 3: float_tile<WT, R, 3>(xt, k, w, rb, n, yt, ldy); break;
        case 2: float_tile<WT, R, 2>(xt, k, w, rb, n, yt, ldy); break;
        default: float_tile<WT, R, 1>(xt, k, w, rb, n, yt, ldy); break;
      }
    }
  };
  for (int64_t t0 = 0; t0 < T; t0 += kTokenBlock) {
    const int64_t t1 = T - t0 < kTokenBlock ? T : t0 + kTokenBlock;
    int64_t n = n0;
    for (; n + 4 <= n1; n += 4) tiles(std::integral_constant<int, 4>{}, n, t0, t1);
    for (; n < n1; ++n) tiles(std::integral_constant<int, 1>{}, n, t0, t1);
  }
}

void gemm_float(const float* x, int64_t T, int64_t k, const void* w, DType wt, size_t rb, int64_t n0, int64_t n1,
                float* y, int64_t ldy) {
  const auto* wb = static_cast<const uint8_t*>(w);
  switch (wt) {
    case DType::kF32: gemm_float_typed<DType::kF32>(x, T, k, wb, rb, n0, n1, y, ldy); break;
    case DType::kBF16: gemm_float_typed<DType::kBF16>(x, T, k, wb, rb, n0, n1, y, ldy); break;
    default: gemm_float_typed<DType::kF16>(x, T, k, wb, rb, n0, n1, y, ldy); break;
  }
}

#include "kernels/quantized_row_x86.inc"

void quantize_row_q8(const float* x, int64_t row, QuantizedActivations* out) {
  QuantizedRowWriter writer(out, row);
  const __m512 sign_off = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF));
  for (int64_t b = 0; b < out->blocks(); ++b) {
    const __m512 a = _mm512_loadu_ps(x + b * kQBlock);
    const __m512 c = _mm512_loadu_ps(x + b * kQBlock + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_and_ps(a, sign_off), _mm512_and_ps(c, sign_off)));
    const float d = amax / 127.0f;
    const __m512 inv = _mm512_set1_ps(d > 0 ? 1.0f / d : 0.0f);
    const __m128i qa = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(a, inv)));
    const __m128i qc = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(c, inv)));
    writer.block(b, _mm256_inserti128_si256(_mm256_castsi128_si256(qa), qc, 1), d);
  }
  writer.finish();
}

inline __mmask64 chunk_mask(int64_t remaining) { return remaining >= 64 ? ~0ull : (1ull << remaining) - 1; }

// Lane i of chunk c's scale vector takes block 2c + (i >= 8) of a 16-block group.
inline __m512i pair_index(int64_t c) {
  const int a = static_cast<int>(2 * (c % 8));
  return _mm512_set_epi32(a + 1, a + 1, a + 1, a + 1, a + 1, a + 1, a + 1, a + 1, a, a, a, a, a, a, a, a);
}

inline __m512i load_q4_chunk(const uint8_t* src, int64_t elems) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  if (elems == kQChunk) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
    const __m256i lo = _mm256_and_si256(v, low4);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
  }
  // trailing half chunk: 16 bytes hold elements j (low) and j + 16 (high)
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
  const __m128i lo = _mm_and_si128(v, _mm_set1_epi8(0x0F));
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0x0F));
  return _mm512_castsi256_si512(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1));
}

// Block-quantized weights stored unsigned (q8: q + 128; q4: unpacked nibbles q + 8) · s8 activations
// with VNNI. The offset is taken off each lane in int32 (offset × the lane's activation sum), so the
// products are exact before they meet the float scales.
template <bool Q4, int R, int TT>
void block_tile(const QuantizedActivations& x, int64_t t0, const QuantizedMatrix& w, int64_t n, float* y, int64_t ldy) {
  const int64_t k = x.k, chunks = x.chunks(), nb = x.blocks();
  const int64_t rb = Q4 ? q4_row_bytes(k) : k;
  constexpr int kOffsetShift = Q4 ? 3 : 7;  // × 8 or × 128
  __m512 acc[R][TT];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) acc[r][t] = _mm512_setzero_ps();
  __m512 sw16[R];
  for (int64_t c = 0; c < chunks; ++c) {
    if (c % 8 == 0) {  // 16 block scales cover 8 chunks
      const __mmask16 m = first_lanes(nb - 2 * c);
      for (int r = 0; r < R; ++r)
        sw16[r] = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w.block_scale + (n + r) * nb + 2 * c));
    }
    const int64_t elems = k - c * kQChunk >= kQChunk ? kQChunk : k - c * kQChunk;
    const __mmask64 m = chunk_mask(elems);
    const __m512i idx = pair_index(c);
    __m512i xv[TT], off[TT];
    __m512 sx[TT];
    for (int t = 0; t < TT; ++t) {
      const int64_t row = (t0 + t) * chunks + c;
      xv[t] = _mm512_maskz_loadu_epi8(m, x.q.data() + (t0 + t) * k + c * kQChunk);
      off[t] = _mm512_slli_epi32(_mm512_loadu_si512(x.lane_sum.data() + row * 16), kOffsetShift);
      sx[t] = _mm512_loadu_ps(x.scale_x16.data() + row * 16);
    }
    for (int r = 0; r < R; ++r) {
      const __m512i wv = Q4 ? load_q4_chunk(w.data + (n + r) * rb + c * (kQChunk / 2), elems)
                            : _mm512_maskz_loadu_epi8(m, w.data + (n + r) * rb + c * kQChunk);
      const __m512 swv = _mm512_permutexvar_ps(idx, sw16[r]);
      for (int t = 0; t < TT; ++t) {
        const __m512i d = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), wv, xv[t]), off[t]);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_mul_ps(swv, sx[t]), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) y[(t0 + t) * ldy + n + r] = _mm512_reduce_add_ps(acc[r][t]);
}

template <template <int, int> class Tile>
void quant_gemm(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y,
                int64_t ldy) {
  const int64_t T = x.rows;
  if (T == 1) {
    int64_t n = n0;
    for (; n + 8 <= n1; n += 8) Tile<8, 1>::run(x, 0, w, n, y, ldy);
    for (; n < n1; ++n) Tile<1, 1>::run(x, 0, w, n, y, ldy);
    return;
  }
  for (int64_t t = 0; t < T; t += 4) {
    const int64_t tt = T - t < 4 ? T - t : 4;
    int64_t n = n0;
    for (; n + 4 <= n1; n += 4) {
      switch (tt) {
        case 4: Tile<4, 4>::run(x, t, w, n, y, ldy); break;
        case 3: Tile<4, 3>::run(x, t, w, n, y, ldy); break;
        case 2: Tile<4, 2>::run(x, t, w, n, y, ldy); break;
        default: Tile<4, 1>::run(x, t, w, n, y, ldy); break;
      }
    }
    for (; n < n1; ++n) {
      switch (tt) {
        case 4: Tile<1, 4>::run(x, t, w, n, y, ldy); break;
        case 3: Tile<1, 3>::run(x, t, w, n, y, ldy); break;
        case 2: Tile<1, 2>::run(x, t, w, n, y, ldy); break;
        default: Tile<1, 1>::run(x, t, w, n, y, ldy); break;
      }
    }
  }
}

template <int R, int TT>
struct Q8Tile {
  static void run(const QuantizedActivations& x, int64_t t0, const QuantizedMatrix& w, int64_t n, float* y,
                  int64_t ldy) {
    block_tile<false, R, TT>(x, t0, w, n, y, ldy);
  }
};
template <int R, int TT>
struct Q4Tile {
  static void run(const QuantizedActivations& x, int64_t t0, const QuantizedMatrix& w, int64_t n, float* y,
                  int64_t ldy) {
    block_tile<true, R, TT>(x, t0, w, n, y, ldy);
  }
};

void gemm_q8(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  if (w.packed)
    gemm_packed(false, x, w, n0, n1, y, ldy);
  else
    quant_gemm<Q8Tile>(x, w, n0, n1, y, ldy);
}

void gemm_q4(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  if (w.packed)
    gemm_packed(true, x, w, n0, n1, y, ldy);
  else
    quant_gemm<Q4Tile>(x, w, n0, n1, y, ldy);
}

float max_value(const float* x, int64_t n) {
  __m512 m = _mm512_set1_ps(x[0]);
  for (int64_t i = 0; i < n; i += 16) m = _mm512_max_ps(_mm512_mask_loadu_ps(m, first_lanes(n - i), x + i), m);
  return _mm512_reduce_max_ps(m);
}

float dot(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

void axpy(float a, const float* x, float* y, int64_t n) {
  const __m512 av = _mm512_set1_ps(a);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    _mm512_mask_storeu_ps(y + i, m,
                          _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

}  // namespace

#include "kernels/silu_mul.inc"
#include "kernels/softmax_passes.inc"

const KernelTable kTable = {
    .name = "avx512",
    .gemm_float = gemm_float,
    .quantize_row_q8 = quantize_row_q8,
    .gemm_q8 = gemm_q8,
    .gemm_q4 = gemm_q4,
    .repack = repack,
    .pack_rows = kPackRows,
    .pack_block_bytes_q8 = packed_block_bytes(false),
    .pack_block_bytes_q4 = packed_block_bytes(true),
    .gemm_fp8 = generic::gemm_fp8,
    .attention = attention,
    .dot_f32 = dot,
    .axpy_f32 = axpy,
    .dequantize = dequantize,
    .interleaved_q4_tiles = true,
    .gemm_panels = gemm_panels,
    .gemm_panels_bf16 = gemm_panels_bf16,
    .gemm_rows_bf16 = gemm_rows_bf16,
    .round_bf16 = round_bf16,
    .exp_f32 = exp_f32,
    .silu_mul_f32 = silu_mul,
    .silu_mul_grad_f32 = silu_mul_grad,
    .max_f32 = max_value,
    .exp_sum_f32 = exp_sum,
};

}  // namespace wenxin::kernels::avx512
