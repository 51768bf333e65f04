#pragma once
#include "kernels/kernels.h"
namespace wenxin::kernels::avx512 {
extern const KernelTable kTable;
// packed_gemm.cpp: the row-interleaved q8/q4 path
void repack(const QuantizedMatrix& w, bool q4, uint8_t* out);
void gemm_packed(bool q4, const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y,
                 int64_t ldy);
}  // namespace wenxin::kernels::avx512
