// Finds NaN and infinity in float tensors straight from their raw bytes: an element is not
// finite when its exponent bits are all ones, which one mask-and-compare per element tests.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace wenxin {

// True when none of the `n` elements at `data` (F32, F16 or BF16; other dtypes pass) is NaN or
// infinite. `data` needs no alignment.
bool all_finite(const uint8_t* data, DType dtype, int64_t n);

// The index of the first NaN or infinity, or -1.
int64_t first_non_finite(const uint8_t* data, DType dtype, int64_t n);

}  // namespace wenxin
