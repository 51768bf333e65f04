// AArch64 kernels (Advanced SIMD). Three tables, each a dispatch entry of its own:
//   neon     the base architecture (every AArch64 CPU): plain q8/q4 layouts, widening int8 products;
//   dotprod  FEAT_DotProd: `sdot` over weights repacked at load into 16-row tiles (packed_dot.cpp);
//   i8mm     FEAT_I8MM: `smmla` over weights repacked into row-pair tiles (packed_i8mm.cpp).
// The float, fp8, attention, vector and training panel kernels are the same in all three (base NEON).
// Design against the memory roofline: native/README.md "ARM kernels".
#pragma once

#include "kernels/kernels.h"

namespace wenxin::kernels::neon {
extern const KernelTable kTable;
// Shared by the three tables (kernels_neon.cpp, attention_neon.cpp).
void gemm_float(const float* x, int64_t T, int64_t k, const void* w, DType wt, size_t w_row_bytes, int64_t n0,
                int64_t n1, float* y, int64_t ldy);
void quantize_row_q8(const float* x, int64_t row, QuantizedActivations* out);
void gemm_fp8(const float* x, int64_t T, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy);
void attention(const AttentionArgs& args, const AttentionPartial& out);
void exp_f32(const float* x, float* y, int64_t n);  // the attention kernel's e^x, exposed for the tests
float dot(const float* a, const float* b, int64_t n);
void axpy(float a, const float* x, float* y, int64_t n);
void silu_mul(float* gate, const float* up, int64_t n);
void silu_mul_grad(const float* gate, const float* up, const float* dact, float* dgate, float* dup, int64_t n);
float max_value(const float* x, int64_t n);
double exp_sum(const float* x, float scale, float shift, float* y, int64_t n);
// panel_gemm.cpp: training's products through packed weight panels
void gemm_panels(const float* a, int64_t lda, int64_t m, int64_t k, const float* b, int64_t n, float* c, int64_t ldc);
void gemm_panels_bf16(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* b, int64_t n, float* c,
                      int64_t ldc, bool accumulate);
}  // namespace wenxin::kernels::neon

namespace wenxin::kernels::neon_dot {
extern const KernelTable kTable;
}  // namespace wenxin::kernels::neon_dot

namespace wenxin::kernels::neon_i8mm {
extern const KernelTable kTable;
}  // namespace wenxin::kernels::neon_i8mm
