// The row-interleaved q8/q4 tiles of the packed kernels (AVX2, AVX-512 VNNI, ARM dotprod): per group of
// Rows rows and block of kQBlock columns, Rows fp16 scales, then the values in 4-byte runs, one run per row
// (q8: 8 runs of 4 values; q4: 4 runs of 4 bytes, a byte holding values e and e + 4 of 8). q8 bytes are
// stored signed, or as q + 128 where the ISA's dot product takes an unsigned operand (VNNI).
#pragma once

#include <cstdint>
#include <cstring>

#include "core/dtype.h"
#include "kernels/quant_formats.h"

namespace wenxin::kernels::tiles {

constexpr int64_t block_bytes(int rows, bool q4) { return 2 * rows + (q4 ? 16 : 32) * rows; }

/** One q4 value (0..15) of the plain layout at (row, column). */
inline uint8_t plain_q4(const QuantizedMatrix& w, int64_t row, int64_t idx) {
  const int64_t k = w.k, c = idx / kQChunk, elems = k - c * kQChunk >= kQChunk ? kQChunk : k - c * kQChunk;
  const int64_t half = elems / 2, j = idx - c * kQChunk;
  const uint8_t byte = w.data[row * q4_row_bytes(k) + c * (kQChunk / 2) + (j < half ? j : j - half)];
  return j < half ? (byte & 0x0F) : (byte >> 4);
}

template <int Rows, bool UnsignedQ8>
void repack(const QuantizedMatrix& w, bool q4, uint8_t* out) {
  const int64_t n = w.n, k = w.k, nb = k / kQBlock, groups = (n + Rows - 1) / Rows, bb = block_bytes(Rows, q4);
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* dst = out + (g * nb + b) * bb;
      for (int64_t r = 0; r < Rows; ++r) {
        const int64_t row = g * Rows + r;
        const uint16_t s = row < n ? w.block_scale[row * nb + b] : 0;
        std::memcpy(dst + 2 * r, &s, 2);
        for (int64_t j = 0; j < (q4 ? 4 : 8); ++j)
          for (int64_t e = 0; e < 4; ++e) {
            uint8_t v;
            if (q4) {
              const uint8_t lo = row < n ? plain_q4(w, row, b * kQBlock + 8 * j + e) : 8;
              const uint8_t hi = row < n ? plain_q4(w, row, b * kQBlock + 8 * j + 4 + e) : 8;
              v = static_cast<uint8_t>(lo | (hi << 4));
            } else if (UnsignedQ8) {  // the stored q + 128 as it is; padding rows are q = 0
              v = row < n ? w.data[row * k + b * kQBlock + 4 * j + e] : 128;
            } else {
              v = row < n ? static_cast<uint8_t>(w.data[row * k + b * kQBlock + 4 * j + e] ^ 0x80) : 0;
            }
            dst[2 * Rows + j * 4 * Rows + r * 4 + e] = v;
          }
      }
    }
}

/** Rows r0..r1, columns c0..c1 of tiles made by repack, as floats (row-major, c1 - c0 per row). */
template <int Rows, bool UnsignedQ8>
void dequantize(const QuantizedMatrix& w, bool q4, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* out) {
  const int64_t nb = w.k / kQBlock, bb = block_bytes(Rows, q4), cols = c1 - c0;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t g = r / Rows, rr = r % Rows;
    float* row = out + (r - r0) * cols - c0;
    for (int64_t c = c0; c < c1;) {  // a block at a time: one scale, then its elements
      const int64_t b = c / kQBlock, end = (b + 1) * kQBlock < c1 ? (b + 1) * kQBlock : c1;
      const uint8_t* tile = w.packed + (g * nb + b) * bb;
      uint16_t s;
      std::memcpy(&s, tile + 2 * rr, 2);
      const float scale = f16_to_f32(s);
      const uint8_t* quants = tile + 2 * Rows + rr * 4;
      for (; c < end; ++c) {
        const int64_t e = c % kQBlock;
        int32_t q;
        if (q4) {
          const uint8_t byte = quants[(e / 8) * 4 * Rows + e % 4];
          q = static_cast<int32_t>(e % 8 < 4 ? (byte & 0x0F) : (byte >> 4)) - 8;
        } else {
          const uint8_t byte = quants[(e / 4) * 4 * Rows + e % 4];
          q = UnsignedQ8 ? static_cast<int32_t>(byte) - 128 : static_cast<int8_t>(byte);
        }
        row[c] = static_cast<float>(q) * scale;
      }
    }
  }
}

/**
 * The plain q4 layout (`data`: [n][k/2] nibbles, `scales`: [n][k/32] fp16) of tiles made by repack with
 * `rows` rows per group (any ISA's: portable code, so a checkpoint saved in one CPU's tiles loads on any).
 */
inline void unpack_q4(const uint8_t* packed, int64_t rows, int64_t n, int64_t k, uint8_t* data, uint16_t* scales) {
  const int64_t nb = k / kQBlock, bb = block_bytes(static_cast<int>(rows), true);
  uint8_t q[kQChunk];
  for (int64_t r = 0; r < n; ++r) {
    const int64_t g = r / rows, rr = r % rows;
    for (int64_t c = 0; c * kQChunk < k; ++c) {
      const int64_t elems = k - c * kQChunk >= kQChunk ? kQChunk : k - c * kQChunk, half = elems / 2;
      for (int64_t e = 0; e < elems; ++e) {
        const int64_t col = c * kQChunk + e, b = col / kQBlock, i = col % kQBlock;
        const uint8_t byte = packed[(g * nb + b) * bb + 2 * rows + (i / 8) * 4 * rows + rr * 4 + i % 4];
        q[e] = i % 8 < 4 ? (byte & 0x0F) : (byte >> 4);
      }
      for (int64_t j = 0; j < half; ++j)
        data[r * q4_row_bytes(k) + c * (kQChunk / 2) + j] = static_cast<uint8_t>(q[j] | (q[j + half] << 4));
    }
    for (int64_t b = 0; b < nb; ++b) std::memcpy(scales + r * nb + b, packed + (g * nb + b) * bb + 2 * rr, 2);
  }
}

}  // namespace wenxin::kernels::tiles
