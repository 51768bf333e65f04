// The AVX2 q8/q4 tiles: repacking at load, the packed GEMM/GEMV (packed_tile.inc) and the inverse
// for training. The AVX-VNNI path reads the same tiles.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/avx2/avx2.h"
#include "kernels/gemv_segments.h"
#include "kernels/generic/generic.h"
#include "kernels/interleaved_tiles.h"
#include "kernels/next_groups_prefetch.h"

namespace wenxin::kernels::avx2 {

namespace {

#include "kernels/avx2/packed_tile.inc"

// q8 with several tokens (prefill, and the batched decode of concurrent streams): |x| of the activations
// is made once, when they are quantized (`abs_q`, [T][k]), so a step is sign, maddubs, madd, add per 32
// products with no vpabsb per token and step; the element loop is unrolled only twice, so 4 int32 + 4 float
// accumulators, 2 weight registers, 2 + 2 activation broadcasts and the ones stay in the 16 ymm registers (a full
// unroll spilled a third of its values).
template <int G, int TT, bool kFetch = false>
void q8_prefill_tile(const QuantizedActivations& x, const int8_t* ax, int64_t t0, const uint8_t* packed, int64_t g0,
                     int64_t n0, int64_t n1, float* y, int64_t ldy, const NextGroupsPrefetch& pf = {}) {
  const int64_t k = x.k, nb = x.blocks();
  constexpr int64_t bb = tile_block_bytes(false);
  const __m256i ones16 = _mm256_set1_epi16(1);
  __m256 accf[G][TT];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 4
    for (int t = 0; t < TT; ++t) accf[g][t] = _mm256_setzero_ps();
  const uint8_t* base[G];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) base[g] = packed + (g0 + g) * nb * bb;
  for (int64_t b = 0; b < nb; ++b) {
    if constexpr (kFetch) pf.lines_of_block(b);
    const int8_t* xq[TT];
    const int8_t* aq[TT];
#pragma GCC unroll 4
    for (int t = 0; t < TT; ++t) {
      xq[t] = x.q.data() + (t0 + t) * k + b * kQBlock;
      aq[t] = ax + (t0 + t) * k + b * kQBlock;
    }
    __m256i acc[G][TT];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 4
      for (int t = 0; t < TT; ++t) acc[g][t] = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int j = 0; j < 8; ++j) {
      __m256i xb[TT], ab[TT];
#pragma GCC unroll 4
      for (int t = 0; t < TT; ++t) {
        xb[t] = broadcast4(xq[t] + 4 * j);
        ab[t] = broadcast4(aq[t] + 4 * j);
      }
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        const __m256i v =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base[g] + b * bb + kTileScaleBytes + 32 * j));
#pragma GCC unroll 4
        for (int t = 0; t < TT; ++t)
          acc[g][t] = _mm256_add_epi32(
              acc[g][t], _mm256_madd_epi16(_mm256_maddubs_epi16(ab[t], _mm256_sign_epi8(v, xb[t])), ones16));
      }
    }
    __m256 sw[G];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
      sw[g] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(base[g] + b * bb)));
#pragma GCC unroll 4
    for (int t = 0; t < TT; ++t) {
      const __m256 sx = _mm256_set1_ps(x.scale[(t0 + t) * nb + b]);
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g)
        accf[g][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[g][t]), _mm256_mul_ps(sw[g], sx), accf[g][t]);
    }
  }
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
    const int64_t row0 = (g0 + g) * kTileRows;
    const int64_t lo = n0 > row0 ? n0 : row0, hi = n1 < row0 + kTileRows ? n1 : row0 + kTileRows;
#pragma GCC unroll 4
    for (int t = 0; t < TT; ++t) {
      float* dst = y + (t0 + t) * ldy;
      if (lo == row0 && hi == row0 + kTileRows) {
        _mm256_storeu_ps(dst + row0, accf[g][t]);
      } else {
        alignas(32) float tmp[kTileRows];
        _mm256_store_ps(tmp, accf[g][t]);
        for (int64_t r = lo; r < hi; ++r) dst[r] = tmp[r - row0];
      }
    }
  }
}

template <bool kFetch>
void q8_tokens(const QuantizedActivations& x, const uint8_t* packed, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  const int64_t T = x.rows;
  const int8_t* ax = x.abs_q.data();
  const int64_t ga = n0 / kTileRows, gb = (n1 + kTileRows - 1) / kTileRows;
  for (int64_t t0 = 0; t0 < T; t0 += kTokenBlock) {  // as packed_tokens
    const int64_t t1 = T - t0 < kTokenBlock ? T : t0 + kTokenBlock;
    int64_t g = ga;
    for (; g + 2 <= gb; g += 2) {
      const auto pf = [&](int64_t t) {
        if constexpr (kFetch)
          return NextGroupsPrefetch::share<2>(packed, x.blocks(), tile_block_bytes(false), gb, g, t, t1);
        return NextGroupsPrefetch{};
      };
      int64_t t = t0;
      for (; t + 2 <= t1; t += 2) q8_prefill_tile<2, 2, kFetch>(x, ax, t, packed, g, n0, n1, y, ldy, pf(t));
      if (t < t1) q8_prefill_tile<2, 1, kFetch>(x, ax, t, packed, g, n0, n1, y, ldy, pf(t));
    }
    for (; g < gb; ++g) {
      int64_t t = t0;
      for (; t + 2 <= t1; t += 2) q8_prefill_tile<1, 2>(x, ax, t, packed, g, n0, n1, y, ldy);
      if (t < t1) q8_prefill_tile<1, 1>(x, ax, t, packed, g, n0, n1, y, ldy);
    }
  }
}

void q8_prefill(const QuantizedActivations& x, const uint8_t* packed, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  if (x.rows <= kTokenBlock)  // the batched decode of concurrent streams
    q8_tokens<true>(x, packed, n0, n1, y, ldy);
  else
    q8_tokens<false>(x, packed, n0, n1, y, ldy);
}

}  // namespace

void repack(const QuantizedMatrix& w, bool q4, uint8_t* out) {
  static_assert(kPackRowsAvx2 == kTileRows && tiles::block_bytes(kTileRows, false) == kPackBlockBytesQ8Avx2 &&
                tiles::block_bytes(kTileRows, true) == kPackBlockBytesQ4Avx2);
  tiles::repack<kTileRows, false>(w, q4, out);
}

void dequantize(const QuantizedMatrix& w, bool q4, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* out) {
  if (w.packed == nullptr) {
    generic::dequantize(w, q4, r0, r1, c0, c1, out);
    return;
  }
  tiles::dequantize<kTileRows, false>(w, q4, r0, r1, c0, c1, out);
}

void gemm_packed(bool q4, const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y,
                 int64_t ldy) {
  if (q4)
    packed_gemm_typed<true>(x, w.packed, n0, n1, y, ldy);
  else if (x.rows > 1)  // the batched decode of concurrent streams too: 5-10% over packed_tile at T = 4, 16
    q8_prefill(x, w.packed, n0, n1, y, ldy);
  else
    packed_gemm_typed<false>(x, w.packed, n0, n1, y, ldy);
}

}  // namespace wenxin::kernels::avx2
