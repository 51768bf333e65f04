// Products through a weight's rows as they are stored, on TDPBF16PS: c = a · Wᵀ with `a`'s bf16 rows as
// the A operand and W's rows laid out as gemm_panels panels for the B operand (32 rows a panel; each pair
// row holds the pairs of consecutive values of the 32 rows), then multiplied as gemm_panels_bf16 does
// (panel_product.h). A bf16 weight's rows are transposed into the panels 16 × 16 pairs at a time
// (gemm_rows_bf16: training's forward keeps no panels of W, and prefill's through bf16 weights); q8/q4
// tiles are decoded straight into them, each run of a tile being two pair rows, each value rounded to bf16
// (gemm_rows_quantized_bf16: prefill on tiles, where the int8 products' per-block scaling would bound
// AMX-INT8).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/aligned_vector.h"
#include "kernels/amx/amx.h"
#include "kernels/amx/panel_product.h"
#include "kernels/amx/tiles.h"
#include "kernels/avx512/avx512.h"

namespace wenxin::kernels::amx {

namespace {

// c's columns [0, n) (=/+=) a · Wᵀ, a block of W's rows at a time: lay(v0, v1, panels) lays rows [v0, v1)
// out as panels (v0 a multiple of 32; the last panel's columns past v1 may hold anything: they are not
// stored), which are then multiplied by a's rows 32 at a time as gemm_panels_bf16 (the panels are read
// contiguously; each block of a is read 16 rows `lda` apart, and stays in the cache across the block's
// panels). Blocks of ~kBlockBytes of panels stay in L2 while all of a streams past them.
template <class Lay>
void rows_product(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, int64_t n, float* c, int64_t ldc,
                  bool accumulate, const Lay& lay) {
  constexpr int64_t kBlockBytes = 768 << 10;
  const TileScope tiles;
  const RowsOfA rows(a, lda, m, kp);
  const int64_t width = std::max<int64_t>(1, kBlockBytes / (kp * 4 * kGemmPanel)) * kGemmPanel;
  thread_local aligned_vector<uint32_t> panels;
  panels.resize(static_cast<size_t>(std::min(n + kGemmPanel - 1, width) / kGemmPanel * kp * kGemmPanel));
  for (int64_t v0 = 0; v0 < n; v0 += width) {
    const int64_t v1 = std::min(n, v0 + width);
    lay(v0, v1, panels.data());
    tile_memory(panels.data());
    rows.multiply(reinterpret_cast<const uint16_t*>(panels.data()), v1 - v0, c + v0, ldc, accumulate);
  }
}

// The panel rows of one 16-row group's tile of one 32-value block in this table's q8/q4 tiles (AVX-512's,
// quant_formats.h), each value rounded to bf16 from (q − 8) · scale (q4) or (q − 128) · scale (q8, stored
// q + 128), both exact in float32. The tile's runs hold 4 consecutive values of each of its 16 rows (q4: a
// run's low nibbles and its high nibbles), which are two pair rows of the panel: no transposing.
template <bool Q4>
void decode_tile(const uint8_t* tile, uint32_t* out) {
  const __m512 row_scales = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(tile)));
  // Lanes [4r' + e] of quarter i hold row 4i + r''s value e: its scale, and the scale times the offset.
  __m512 scale[4], offset[4];
  for (int i = 0; i < 4; ++i) {
    scale[i] = _mm512_permutexvar_ps(
        _mm512_setr_epi32(4 * i, 4 * i, 4 * i, 4 * i, 4 * i + 1, 4 * i + 1, 4 * i + 1, 4 * i + 1, 4 * i + 2, 4 * i + 2,
                          4 * i + 2, 4 * i + 2, 4 * i + 3, 4 * i + 3, 4 * i + 3, 4 * i + 3),
        row_scales);
    offset[i] = _mm512_mul_ps(scale[i], _mm512_set1_ps(Q4 ? 8.0f : 128.0f));
  }
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  // 64 codes, [r][e] for 16 rows × 4 values → the pair rows of values (0, 1) and (2, 3) at out[0], out[32].
  const auto pair_rows = [&](__m512i codes, uint32_t* dst) {
    const __m128i quarter[4] = {_mm512_castsi512_si128(codes), _mm512_extracti32x4_epi32(codes, 1),
                                _mm512_extracti32x4_epi32(codes, 2), _mm512_extracti32x4_epi32(codes, 3)};
    __m512 f[4];
    for (int i = 0; i < 4; ++i)  // b · s − offset · s in one rounding: exact, as (b − offset) · s is
      f[i] = _mm512_fmsub_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(quarter[i])), scale[i], offset[i]);
    const __m512bh lo = _mm512_cvtne2ps_pbh(f[1], f[0]), hi = _mm512_cvtne2ps_pbh(f[3], f[2]);
    const __m512i l = reinterpret_cast<const __m512i&>(lo), h = reinterpret_cast<const __m512i&>(hi);
    _mm512_storeu_si512(dst, _mm512_permutex2var_epi32(l, even, h));
    _mm512_storeu_si512(dst + kGemmPanel, _mm512_permutex2var_epi32(l, odd, h));
  };
  const uint8_t* runs = tile + 2 * kTileRows;
  if constexpr (Q4) {
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    for (int j = 0; j < 4; ++j) {  // run j: values 8j + e in the low nibbles, 8j + 4 + e in the high ones
      const __m512i bytes = _mm512_loadu_si512(runs + 64 * j);
      pair_rows(_mm512_and_si512(bytes, low4), out + 4 * j * kGemmPanel);
      pair_rows(_mm512_and_si512(_mm512_srli_epi16(bytes, 4), low4), out + (4 * j + 2) * kGemmPanel);
    }
  } else {
    for (int j = 0; j < 8; ++j) pair_rows(_mm512_loadu_si512(runs + 64 * j), out + 2 * j * kGemmPanel);
  }
}

// W's rows [n0, n1) as panels: each 16-row group's tile of each block decoded into its half of a panel.
template <bool Q4>
void quantized_product(const uint16_t* a, int64_t lda, int64_t m, const QuantizedMatrix& w, int64_t n0, int64_t n1,
                       float* c, int64_t ldc, bool accumulate) {
  const int64_t steps = w.k / kQBlock, kp = w.k / 2, bb = packed_block_bytes(Q4);
  rows_product(a, lda, m, kp, n1 - n0, c, ldc, accumulate, [&](int64_t v0, int64_t v1, uint32_t* panels) {
    for (int64_t g = 0; g * kTileRows < v1 - v0; ++g) {
      uint32_t* panel = panels + g / 2 * kp * kGemmPanel + g % 2 * kTileRows;
      const uint8_t* tiles = w.packed + (n0 + v0) / kPackRows * steps * bb + g * steps * bb;
      for (int64_t st = 0; st < steps; ++st) decode_tile<Q4>(tiles + st * bb, panel + st * kTilePairs * kGemmPanel);
    }
  });
}

}  // namespace

void gemm_rows_bf16(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* w, int64_t ldw, int64_t n,
                    float* c, int64_t ldc, bool accumulate) {
  rows_product(a, lda, m, kp, n, c, ldc, accumulate, [&](int64_t v0, int64_t v1, uint32_t* panels) {
    for (int64_t p0 = v0; p0 < v1; p0 += kGemmPanel)
      avx512::lay_rows_panel(w + p0 * ldw, ldw, std::min(kGemmPanel, v1 - p0), kp, panels + (p0 - v0) * kp);
  });
}

void gemm_rows_quantized_bf16(const uint16_t* a, int64_t lda, int64_t m, const QuantizedMatrix& w, bool q4, int64_t n0,
                              int64_t n1, float* c, int64_t ldc, bool accumulate) {
  if (q4)
    quantized_product<true>(a, lda, m, w, n0, n1, c, ldc, accumulate);
  else
    quantized_product<false>(a, lda, m, w, n0, n1, c, ldc, accumulate);
}

}  // namespace wenxin::kernels::amx
