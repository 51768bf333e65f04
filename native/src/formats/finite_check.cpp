#include "formats/finite_check.h"

#include <cstring>

namespace wenxin {

namespace {

// Branch-free over blocks so the compiler vectorises the loop; memcpy loads need no alignment.
template <typename Word, Word kExponent>
bool block_finite(const uint8_t* data, int64_t n) {
  constexpr int64_t kBlock = 256;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = n - b < kBlock ? n - b : kBlock;
    Word words[kBlock];
    std::memcpy(words, data + b * sizeof(Word), static_cast<size_t>(m) * sizeof(Word));
    unsigned bad = 0;
    for (int64_t i = 0; i < m; ++i) bad |= (words[i] & kExponent) == kExponent;
    if (bad) return false;
  }
  return true;
}

template <typename Word, Word kExponent>
int64_t first_bad(const uint8_t* data, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    Word w;
    std::memcpy(&w, data + i * sizeof(Word), sizeof(Word));
    if ((w & kExponent) == kExponent) return i;
  }
  return -1;
}

}  // namespace

bool all_finite(const uint8_t* data, DType dtype, int64_t n) {
  switch (dtype) {
    case DType::kF32: return block_finite<uint32_t, 0x7F800000u>(data, n);
    case DType::kF16: return block_finite<uint16_t, 0x7C00u>(data, n);
    case DType::kBF16: return block_finite<uint16_t, 0x7F80u>(data, n);
    default: return true;
  }
}

int64_t first_non_finite(const uint8_t* data, DType dtype, int64_t n) {
  switch (dtype) {
    case DType::kF32: return first_bad<uint32_t, 0x7F800000u>(data, n);
    case DType::kF16: return first_bad<uint16_t, 0x7C00u>(data, n);
    case DType::kBF16: return first_bad<uint16_t, 0x7F80u>(data, n);
    default: return -1;
  }
}

}  // namespace wenxin
