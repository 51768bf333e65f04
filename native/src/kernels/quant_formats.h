// Block layouts of quantized weights and activations, shared by every ISA's kernels.
//
// Activations (per step): int8 in blocks of 32 with a float scale per block (like Q8_0), quantized
// once per row and reused by every matrix that reads the row.
// q8 weights: int8 in blocks of 32 with an fp16 scale per block (Q8_0's precision), stored offset by
//   +128 as uint8 (so AVX-512 VNNI's unsigned×signed dot product applies directly).
// q4 weights: 4-bit in blocks of 32 with an fp16 scale per block, stored offset by +8. Nibbles are
//   packed per 64 elements: byte j of a 64-element chunk holds element j (low nibble) and element
//   j + 32 (high nibble), so unpacking yields elements in order. A trailing 32-element half chunk
//   packs element j and j + 16.
// fp8 weights: e4m3 bytes with one float scale per row.
#pragma once

#include <cstdint>
#include <vector>

#include "core/aligned_vector.h"

namespace wenxin::kernels {

constexpr int64_t kQBlock = 32;  // elements per quantization block
constexpr int64_t kQChunk = 64;  // elements per 512-bit int8 vector

// Quantized activations of T rows of K elements.
struct QuantizedActivations {
  int64_t rows = 0, k = 0;
  aligned_vector<int8_t> q;  // [rows][k]
  std::vector<float> scale;  // [rows][k / 32]
  aligned_vector<float>
      scale_x16;  // [rows][chunks][16]: per 64-element chunk, lanes 0-7 = scale of its first block, 8-15 = second
  std::vector<float> block_sum;      // [rows][k / 32]: scale × sum of the block's quants (offset corrections)
  std::vector<int32_t> block_isum;   // [rows][k / 32]: the sums themselves
  std::vector<float> total_sum;      // [rows]: sum over blocks of block_sum
  aligned_vector<int32_t> lane_sum;  // [rows][chunks][16]: sums of each 4 consecutive quants (one VNNI lane),
                                     // so unsigned-offset weights can be corrected exactly in int32
  aligned_vector<int8_t> abs_q;      // [rows][k]: |q| (at most 127), for AVX2's sign + maddubs q8 products

  int64_t blocks() const { return k / kQBlock; }
  int64_t chunks() const { return (k + kQChunk - 1) / kQChunk; }
  void resize(int64_t r, int64_t kk) {
    rows = r;
    k = kk;
    q.resize(r * kk);
    scale.resize(r * blocks());
    scale_x16.resize(r * chunks() * 16);
    block_sum.resize(r * blocks());
    block_isum.resize(r * blocks());
    total_sum.resize(r);
    lane_sum.resize(r * chunks() * 16);
    abs_q.resize(r * kk);
  }
};

// A quantized weight matrix [n][k]; which arrays are used depends on the format.
struct QuantizedMatrix {
  int64_t n = 0, k = 0;
  const uint8_t* data = nullptr;          // q8: [n][k] bytes; q4: [n][k/2] bytes; fp8: [n][k] bytes
  const float* row_scale = nullptr;       // fp8: [n]
  const uint16_t* block_scale = nullptr;  // q8, q4: [n][k/32] fp16
  // Optional copy re-laid out by the active ISA's `repack` (row-interleaved tiles); when set, that
  // ISA's kernels read it instead of `data`/`block_scale`.
  const uint8_t* packed = nullptr;
};

// Row-interleaved tiles (AVX-512 VNNI): rows in groups of 16 (the last group zero-padded). For each
// group and each 32-element block: 16 fp16 scales (32 bytes), then the quants, 4 bytes per row per
// 4 elements so one 512-bit register holds 4 elements of all 16 rows:
//   q8: 8 registers, register j = elements 4j..4j+3 (u8, q + 128);
//   q4: 4 registers, register j = elements 8j..8j+3 in low nibbles and 8j+4..8j+7 in high ones (q + 8).
constexpr int64_t kPackRows = 16;
inline int64_t packed_block_bytes(bool q4) { return 32 + (q4 ? 256 : 512); }
inline int64_t packed_bytes(bool q4, int64_t n, int64_t k) {
  return ((n + kPackRows - 1) / kPackRows) * (k / kQBlock) * packed_block_bytes(q4);
}

}  // namespace wenxin::kernels

namespace wenxin::kernels {

// Signed values (nibble - 8) of one packed q4 chunk of `elems` (64, or 32 for a trailing half chunk).
inline void unpack_q4_chunk(const uint8_t* src, int64_t elems, int8_t* dst) {
  const int64_t half = elems / 2;
  for (int64_t j = 0; j < half; ++j) {
    dst[j] = static_cast<int8_t>((src[j] & 0x0F) - 8);
    dst[j + half] = static_cast<int8_t>((src[j] >> 4) - 8);
  }
}

// Bytes of one packed q4 row of k elements.
inline int64_t q4_row_bytes(int64_t k) { return k / 2; }

// The float value of an fp8 e4m3 (finite-only "fn" variant) byte.
float fp8_e4m3_to_f32(uint8_t v);

}  // namespace wenxin::kernels
