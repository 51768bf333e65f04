// The AVX2 q8/q4 tiles: repacking at load, the packed GEMM/GEMV (packed_tile.inc) and the inverse
// for training. The AVX-VNNI path reads the same tiles.
#include <immintrin.h>

#include <cstring>

#include "kernels/avx2/avx2.h"
#include "kernels/generic/generic.h"

namespace wenxin::kernels::avx2 {

namespace {

#include "kernels/avx2/packed_tile.inc"

// Element idx of a row in the plain q4 layout, as its nibble (q + 8).
inline uint8_t plain_q4(const QuantizedMatrix& w, int64_t row, int64_t idx) {
  const int64_t k = w.k, c = idx / kQChunk, elems = k - c * kQChunk >= kQChunk ? kQChunk : k - c * kQChunk;
  const int64_t half = elems / 2, j = idx - c * kQChunk;
  const uint8_t byte = w.data[row * q4_row_bytes(k) + c * (kQChunk / 2) + (j < half ? j : j - half)];
  return j < half ? (byte & 0x0F) : (byte >> 4);
}

}  // namespace

void repack(const QuantizedMatrix& w, bool q4, uint8_t* out) {
  static_assert(kPackRowsAvx2 == kTileRows && tile_block_bytes(false) == kPackBlockBytesQ8Avx2 &&
                tile_block_bytes(true) == kPackBlockBytesQ4Avx2);
  const int64_t n = w.n, k = w.k, nb = k / kQBlock, groups = (n + kTileRows - 1) / kTileRows;
  const int64_t bb = tile_block_bytes(q4);
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* dst = out + (g * nb + b) * bb;
      for (int64_t r = 0; r < kTileRows; ++r) {
        const int64_t row = g * kTileRows + r;
        const uint16_t s = row < n ? w.block_scale[row * nb + b] : 0;
        std::memcpy(dst + 2 * r, &s, 2);
        for (int64_t j = 0; j < (q4 ? 4 : 8); ++j)
          for (int64_t e = 0; e < 4; ++e) {
            uint8_t v;
            if (q4) {
              const uint8_t lo = row < n ? plain_q4(w, row, b * kQBlock + 8 * j + e) : 8;
              const uint8_t hi = row < n ? plain_q4(w, row, b * kQBlock + 8 * j + 4 + e) : 8;
              v = static_cast<uint8_t>(lo | (hi << 4));
            } else {  // signed: the stored q + 128 less 128
              v = row < n ? static_cast<uint8_t>(w.data[row * k + b * kQBlock + 4 * j + e] ^ 0x80) : 0;
            }
            dst[kTileScaleBytes + j * 32 + r * 4 + e] = v;
          }
      }
    }
}

void dequantize(const QuantizedMatrix& w, bool q4, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* out) {
  if (w.packed == nullptr) {
    generic::dequantize(w, q4, r0, r1, c0, c1, out);
    return;
  }
  const int64_t nb = w.k / kQBlock, bb = tile_block_bytes(q4), cols = c1 - c0;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t g = r / kTileRows, rr = r % kTileRows;
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t b = c / kQBlock, e = c % kQBlock;
      const uint8_t* tile = w.packed + (g * nb + b) * bb;
      uint16_t s;
      std::memcpy(&s, tile + 2 * rr, 2);
      int32_t q;
      if (q4) {
        const uint8_t byte = tile[kTileScaleBytes + (e / 8) * 32 + rr * 4 + e % 4];
        q = static_cast<int32_t>(e % 8 < 4 ? (byte & 0x0F) : (byte >> 4)) - 8;
      } else {
        q = static_cast<int8_t>(tile[kTileScaleBytes + (e / 4) * 32 + rr * 4 + e % 4]);
      }
      out[(r - r0) * cols + c - c0] = static_cast<float>(q) * f16_to_f32(s);
    }
  }
}

void gemm_packed(bool q4, const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y,
                 int64_t ldy) {
  if (q4)
    packed_gemm_typed<true>(x, w.packed, n0, n1, y, ldy);
  else
    packed_gemm_typed<false>(x, w.packed, n0, n1, y, ldy);
}

}  // namespace wenxin::kernels::avx2
