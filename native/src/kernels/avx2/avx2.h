// AVX2 + FMA + F16C kernels. The AVX-VNNI table (avx_vnni/) reuses all of them but the packed q8/q4
// products, so they are declared here.
//
// Packed q8/q4 tiles (packed_gemm.cpp): rows in groups of 8 (the last group padded with zero scales).
// For each group and each 32-element block: the 8 rows' fp16 scales (16 bytes: one vcvtph2ps per block
// and group; f32 scales would add 6% to q8 and 11% to q4 weight bytes, which decode streams), then the
// quants, 4 bytes per row per 4 elements, so one 256-bit register holds 4 elements of all 8 rows (one
// int32 lane per row). Blocks are 272 (q8) or 144 (q4) bytes: Q8_0's and Q4_0's sizes.
//   q8: 8 registers, register j = elements 4j..4j+3 (signed int8, q);
//   q4: 4 registers, register j = elements 8j..8j+3 in low nibbles and 8j+4..8j+7 in high ones (q + 8).
#pragma once
#include "kernels/kernels.h"
namespace wenxin::kernels::avx2 {
extern const KernelTable kTable;

constexpr int64_t kPackRowsAvx2 = 8;
constexpr int64_t kPackBlockBytesQ8Avx2 = 16 + 256, kPackBlockBytesQ4Avx2 = 16 + 128;
void repack(const QuantizedMatrix& w, bool q4, uint8_t* out);
// The inverse of repack, to float (the plain layout when `w.packed` is unset).
void dequantize(const QuantizedMatrix& w, bool q4, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* out);
void gemm_packed(bool q4, const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y,
                 int64_t ldy);

// panel_gemm.cpp: training's float32 products through packed weight panels
void gemm_panels(const float* a, int64_t lda, int64_t m, int64_t k, const float* b, int64_t n, float* c, int64_t ldc);
void round_bf16(const float* x, uint16_t* y, int64_t n);
void gemm_panels_bf16(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* b, int64_t n, float* c,
                      int64_t ldc, bool accumulate);
// Prefill's float32 products through a bf16 weight's rows (gemm_float from kLayoutTokens rows of x): c[i · ldc
// + j] = Σ_p x[i · k + p] · W[j][p] for i < m, j < n, W's rows `ldw` apart, widened into float32 strips of
// 16 rows in a thread's scratch and multiplied on the panel products' 6 × 16 tile.
void gemm_float_bf16_rows(const float* x, int64_t m, int64_t k, const uint16_t* w, int64_t ldw, int64_t n, float* c,
                          int64_t ldc);

// The float, vector and attention kernels of this path (kernels_avx2.cpp), for the AVX-VNNI table.
namespace shared {
void gemm_float(const float* x, int64_t T, int64_t k, const void* w, DType wt, size_t rb, int64_t n0, int64_t n1,
                float* y, int64_t ldy);
void quantize_row_q8(const float* x, int64_t row, QuantizedActivations* out);
void attention(const AttentionArgs& args, const AttentionPartial& out);
float dot(const float* a, const float* b, int64_t n);
void axpy(float a, const float* x, float* y, int64_t n);
void silu_mul(float* gate, const float* up, int64_t n);
void silu_mul_grad(const float* gate, const float* up, const float* dact, float* dgate, float* dup, int64_t n);
float max_value(const float* x, int64_t n);
double exp_sum(const float* x, float scale, float shift, float* y, int64_t n);
}  // namespace shared
}  // namespace wenxin::kernels::avx2
