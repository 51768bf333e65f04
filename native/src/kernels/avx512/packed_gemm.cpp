// Row-interleaved q8/q4 tiles for AVX-512 VNNI (layout in quant_formats.h). Lanes hold rows, so a
// whole 32-element block accumulates in int32 per row before one conversion and one scaled FMA:
// 8 VNNI dot products per block share a single float step, where the plain layout needs one per 64
// elements per (row, token).
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernels/avx512/avx512.h"
#include "kernels/gemv_segments.h"
#include "kernels/generic/generic.h"
#include "kernels/interleaved_tiles.h"
#include "kernels/next_groups_prefetch.h"

namespace wenxin::kernels::avx512 {

namespace {

// Row groups g0, g0 + gs, ..., g0 + (G - 1) · gs × TT tokens. kFetch: also pf's lines.
template <bool Q4, int G, int TT, bool kFetch = false>
void packed_tile(const QuantizedActivations& x, int64_t t0, const uint8_t* packed, int64_t g0, int64_t n, float* y,
                 int64_t ldy, int64_t gs = 1, const NextGroupsPrefetch& pf = {}) {
  const int64_t k = x.k, nb = x.blocks();
  const int64_t bb = packed_block_bytes(Q4);
  constexpr int32_t kOffset = Q4 ? 8 : 128;
  __m512 accf[G][TT];
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) accf[g][t] = _mm512_setzero_ps();
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    if constexpr (kFetch) pf.lines_of_block(b);
    const uint8_t* blk[G];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) blk[g] = packed + ((g0 + g * gs) * nb + b) * bb;
    __m512i acc[G][TT];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
      for (int t = 0; t < TT; ++t) acc[g][t] = _mm512_setzero_si512();
    if constexpr (Q4) {
#pragma GCC unroll 8
      for (int j = 0; j < 4; ++j) {
        __m512i xa[TT], xb[TT];
#pragma GCC unroll 8
        for (int t = 0; t < TT; ++t) {
          const int8_t* xq = x.q.data() + (t0 + t) * k + b * kQBlock + 8 * j;
          int32_t a, c;
          std::memcpy(&a, xq, 4);
          std::memcpy(&c, xq + 4, 4);
          xa[t] = _mm512_set1_epi32(a);
          xb[t] = _mm512_set1_epi32(c);
        }
#pragma GCC unroll 8
        for (int g = 0; g < G; ++g) {
          const __m512i v = _mm512_loadu_si512(blk[g] + 32 + j * 64);
          const __m512i lo = _mm512_and_si512(v, low4);
          const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
#pragma GCC unroll 8
          for (int t = 0; t < TT; ++t) {
            acc[g][t] = _mm512_dpbusd_epi32(acc[g][t], lo, xa[t]);
            acc[g][t] = _mm512_dpbusd_epi32(acc[g][t], hi, xb[t]);
          }
        }
      }
    } else {
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        __m512i xv[TT];
#pragma GCC unroll 8
        for (int t = 0; t < TT; ++t) {
          int32_t a;
          std::memcpy(&a, x.q.data() + (t0 + t) * k + b * kQBlock + 4 * j, 4);
          xv[t] = _mm512_set1_epi32(a);
        }
#pragma GCC unroll 8
        for (int g = 0; g < G; ++g) {
          const __m512i v = _mm512_loadu_si512(blk[g] + 32 + j * 64);
#pragma GCC unroll 8
          for (int t = 0; t < TT; ++t) acc[g][t] = _mm512_dpbusd_epi32(acc[g][t], v, xv[t]);
        }
      }
    }
    __m512 sw[G];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) sw[g] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[g])));
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      const int64_t xb_idx = (t0 + t) * nb + b;
      const __m512i off = _mm512_set1_epi32(kOffset * x.block_isum[xb_idx]);
      const __m512 sx = _mm512_set1_ps(x.scale[xb_idx]);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g)
        accf[g][t] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[g][t], off)), _mm512_mul_ps(sw[g], sx), accf[g][t]);
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g) {
    const int64_t row0 = (g0 + g * gs) * kPackRows;
    const int64_t valid = n - row0 >= kPackRows ? kPackRows : n - row0;
    const __mmask16 m = valid >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << valid) - 1);
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) _mm512_mask_storeu_ps(y + (t0 + t) * ldy + row0, m, accf[g][t]);
  }
}

template <bool Q4>
void packed_gemm_typed(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y,
                       int64_t ldy) {
  const int64_t T = x.rows;
  const int64_t ga = n0 / kPackRows, gb = (n1 + kPackRows - 1) / kPackRows;
  if (T == 1) {  // decode: four row groups from four segments (gemv_segments.h) hide the dot-product latency
    for_each_segment_tile<4>(
        ga, gb, [&](int64_t g, int64_t gs) { packed_tile<Q4, 4, 1>(x, 0, w.packed, g, w.n, y, ldy, gs); },
        [&](int64_t g) { packed_tile<Q4, 1, 1>(x, 0, w.packed, g, w.n, y, ldy); });
    return;
  }
  // Token rows in blocks of 32 (their int8 activations stay in L2), then row groups, then the block's
  // tokens: a tile's weights stay in L1 across the block, so a batched decode streams each matrix once, the
  // group pairs' tiles fetching the next pair's weights (one token block: next_groups_prefetch.h).
  auto tiles = [&](auto groups, auto fetch, int64_t g, int64_t t0, int64_t t1) {
    constexpr int G = decltype(groups)::value;
    constexpr bool kFetch = decltype(fetch)::value;
    for (int64_t t = t0; t < t1; t += 4) {
      NextGroupsPrefetch pf;
      if constexpr (kFetch)
        pf = NextGroupsPrefetch::share<4>(w.packed, x.blocks(), packed_block_bytes(Q4), gb, g, t, t1);
      switch (t1 - t < 4 ? t1 - t : 4) {
        case 4: packed_tile<Q4, G, 4, kFetch>(x, t, w.packed, g, w.n, y, ldy, 1, pf); break;
        case 3: packed_tile<Q4, G, 3, kFetch>(x, t, w.packed, g, w.n, y, ldy, 1, pf); break;
        case 2: packed_tile<Q4, G, 2, kFetch>(x, t, w.packed, g, w.n, y, ldy, 1, pf); break;
        default: packed_tile<Q4, G, 1, kFetch>(x, t, w.packed, g, w.n, y, ldy, 1, pf); break;
      }
    }
  };
  for (int64_t t0 = 0; t0 < T; t0 += kTokenBlock) {
    const int64_t t1 = T - t0 < kTokenBlock ? T : t0 + kTokenBlock;
    int64_t g = ga;
    if (T <= kTokenBlock)
      for (; g + 2 <= gb; g += 2) tiles(std::integral_constant<int, 2>{}, std::true_type{}, g, t0, t1);
    for (; g + 2 <= gb; g += 2) tiles(std::integral_constant<int, 2>{}, std::false_type{}, g, t0, t1);
    for (; g < gb; ++g) tiles(std::integral_constant<int, 1>{}, std::false_type{}, g, t0, t1);
  }
}

}  // namespace

void repack(const QuantizedMatrix& w, bool q4, uint8_t* out) { tiles::repack<kPackRows, true>(w, q4, out); }

void dequantize(const QuantizedMatrix& w, bool q4, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* out) {
  if (w.packed == nullptr) {
    generic::dequantize(w, q4, r0, r1, c0, c1, out);
    return;
  }
  tiles::dequantize<kPackRows, true>(w, q4, r0, r1, c0, c1, out);
}

void gemm_packed(bool q4, const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y,
                 int64_t ldy) {
  if (q4)
    packed_gemm_typed<true>(x, w, n0, n1, y, ldy);
  else
    packed_gemm_typed<false>(x, w, n0, n1, y, ldy);
}

}  // namespace wenxin::kernels::avx512
