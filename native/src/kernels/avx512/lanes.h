// The first `valid` of 16 32-bit lanes (all when valid >= 16, none when valid <= 0): the mask of a row's
// tail, or of a tile's columns that overhang c. One helper for the AVX-512 and AMX files.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace wenxin::kernels::avx512 {

inline __mmask16 first_lanes(int64_t valid) {
  return valid >= 16  ? static_cast<__mmask16>(0xFFFF)
         : valid <= 0 ? static_cast<__mmask16>(0)
                      : static_cast<__mmask16>((1u << valid) - 1);
}

}  // namespace wenxin::kernels::avx512
