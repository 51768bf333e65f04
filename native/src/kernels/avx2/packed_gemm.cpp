// The AVX2 q8/q4 tiles: repacking at load, the packed GEMM/GEMV (packed_tile.inc) and the inverse
// for training. The AVX-VNNI path reads the same tiles.
#include <immintrin.h>

#include <cstring>

#include "kernels/avx2/avx2.h"
#include "kernels/gemv_segments.h"
#include "kernels/generic/generic.h"
#include "kernels/interleaved_tiles.h"

namespace wenxin::kernels::avx2 {

namespace {

#include "kernels/avx2/packed_tile.inc"

// Element idx of a row in the plain q4 layout, as its nibble (q + 8).
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
  else
    packed_gemm_typed<false>(x, w.packed, n0, n1, y, ldy);
}

}  // namespace wenxin::kernels::avx2
