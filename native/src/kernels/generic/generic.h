// The portable reference kernels (no intrinsics): the fallback and the oracle for SIMD paths.
#pragma once

#include "kernels/kernels.h"

namespace wenxin::kernels::generic {
extern const KernelTable kTable;
// Reference pieces the SIMD tables reuse for what they do not specialise.
void gemm_fp8(const float* x, int64_t T, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy);
void finish_quantized_row(QuantizedActivations* out, int64_t row);
void dequantize(const QuantizedMatrix& w, bool q4, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* out);
void exp_f32(const float* x, float* y, int64_t n);
void gemm_panels(const float* a, int64_t lda, int64_t m, int64_t k, const float* b, int64_t n, float* c, int64_t ldc);
void round_bf16(const float* x, uint16_t* y, int64_t n);
void gemm_panels_bf16(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* b, int64_t n, float* c,
                      int64_t ldc, bool accumulate);
}  // namespace wenxin::kernels::generic
