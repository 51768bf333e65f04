// The x86 tiled attention kernels (attention_tiled.inc over each ISA's vectors), one per ISA file:
// avx2/attention_avx2.cpp and avx512/attention_avx512.cpp.
#pragma once

#include <cstdint>

#include "kernels/attention_args.h"

namespace wenxin::kernels::avx2 {
void attention(const AttentionArgs& args, const AttentionPartial& out);
void exp_f32(const float* x, float* y, int64_t n);  // the kernel's e^x, exposed for the tests
}  // namespace wenxin::kernels::avx2

namespace wenxin::kernels::avx512 {
void attention(const AttentionArgs& args, const AttentionPartial& out);
void exp_f32(const float* x, float* y, int64_t n);
}  // namespace wenxin::kernels::avx512
