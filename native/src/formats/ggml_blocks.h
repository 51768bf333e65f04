// ggml tensor types as GGUF stores them: names, block sizes, and dequantization of the types
// wenxin.js reads (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K), written from the block layouts
// that ggml defines (a block of `block_elems` values takes `block_bytes` bytes, rows are whole blocks).
#pragma once

#include <cstdint>
#include <string>

namespace wenxin::ggml {

enum Type : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kBF16 = 30,
};

struct TypeInfo {
  const char* name;     // "Q4_K"; nullptr for an id ggml does not define
  int64_t block_elems;  // 0 when the size is unknown to us
  int64_t block_bytes;
};

TypeInfo type_info(uint32_t type);
std::string type_name(uint32_t type);  // "Q4_K", or "type 99" for unknown ids

// True for the types dequantize_row handles.
bool readable(uint32_t type);
// The readable types, for error messages.
const char* readable_type_list();

// Bytes of `n` elements of `type` (n a multiple of the block size), or 0 if the size is unknown.
uint64_t row_bytes(uint32_t type, int64_t n);

// dst[0..n) = the float values of n elements starting at a block boundary.
void dequantize_row(uint32_t type, const uint8_t* src, int64_t n, float* dst);

}  // namespace wenxin::ggml
