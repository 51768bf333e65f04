// AMX (Intel Sapphire Rapids and later: AMX-TILE, AMX-INT8, AMX-BF16) on top of AVX-512: the AVX-512
// table with bf16 products on tile multiplies: training's through packed panels (gemm_panels_bf16) and
// through a bf16 weight's rows as they are (gemm_rows_bf16), and prefill's through q8/q4 tiles decoded to
// bf16 (gemm_rows_quantized_bf16), and prefill's attention (QKᵀ and PV on tiles).
#pragma once
#include "kernels/kernels.h"
namespace wenxin::kernels::amx {
// The AVX-512 table with the AMX entries in place (built on first use).
const KernelTable& table();
// panel_gemm_amx.cpp: gemm_panels_bf16's contract (kernels.h).
void gemm_panels_bf16(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* b, int64_t n, float* c,
                      int64_t ldc, bool accumulate);
// weight_rows_amx.cpp: gemm_rows_bf16's contract (kernels.h).
void gemm_rows_bf16(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* w, int64_t ldw, int64_t n,
                    float* c, int64_t ldc, bool accumulate);
// weight_rows_amx.cpp: gemm_rows_quantized_bf16's contract (kernels.h).
void gemm_rows_quantized_bf16(const uint16_t* a, int64_t lda, int64_t m, const QuantizedMatrix& w, bool q4, int64_t n0,
                              int64_t n1, float* c, int64_t ldc, bool accumulate);
// attention_amx.cpp: attention's contract (kernels.h): prefill's runs of queries on tiles, the rest on AVX-512.
void attention(const AttentionArgs& args, const AttentionPartial& out);
// round_bf16_amx.cpp: round_bf16's and split_bf16's contracts (kernels.h).
void round_bf16(const float* x, uint16_t* y, int64_t n);
void split_bf16(const float* x, uint16_t* hi, uint16_t* lo, int64_t n);
}  // namespace wenxin::kernels::amx
