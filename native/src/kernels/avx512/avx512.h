#pragma once
#include "kernels/kernels.h"
namespace wenxin::kernels::avx512 {
extern const KernelTable kTable;
// packed_gemm.cpp: the row-interleaved q8/q4 path
void repack(const QuantizedMatrix& w, bool q4, uint8_t* out);
// The inverse of repack, to float (the plain layout when `w.packed` is unset).
void dequantize(const QuantizedMatrix& w, bool q4, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* out);
void gemm_packed(bool q4, const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y,
                 int64_t ldy);
// panel_gemm.cpp: training's float32 products through packed weight panels
void gemm_panels(const float* a, int64_t lda, int64_t m, int64_t k, const float* b, int64_t n, float* c, int64_t ldc);
// The same, c written rather than added to when not `accumulate`.
void gemm_panels_f32(const float* a, int64_t lda, int64_t m, int64_t k, const float* b, int64_t n, float* c,
                     int64_t ldc, bool accumulate);
void gemm_panels_bf16(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* b, int64_t n, float* c,
                      int64_t ldc, bool accumulate);
// The same without AVX-512 BF16 (each pair widened to two float32 FMAs); gemm_panels_bf16 takes it on
// CPUs without vdpbf16ps. Exposed for the kernel tests.
void gemm_panels_bf16_widened(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* b, int64_t n,
                              float* c, int64_t ldc, bool accumulate);
void round_bf16(const float* x, uint16_t* y, int64_t n);
// weight_rows.cpp: products through a bf16 weight's rows as stored (the table's gemm_rows_bf16), and the
// panel one block of 32 of those rows makes: kp pair rows of 32 pairs (columns past `rows` zero), from
// rows `ldw` apart, 16 pairs of 16 rows transposed at a time. AMX's rows products lay their panels alike.
void lay_rows_panel(const uint16_t* w, int64_t ldw, int64_t rows, int64_t kp, uint32_t* panel);
void gemm_rows_bf16(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* w, int64_t ldw, int64_t n,
                    float* c, int64_t ldc, bool accumulate);
// Prefill's float32 products through a bf16 weight's rows (gemm_float from kLayoutTokens rows of x): c[i · ldc
// + j] = Σ_p x[i · k + p] · W[j][p] for i < m, j < n, W's rows `ldw` apart.
void gemm_float_bf16_rows(const float* x, int64_t m, int64_t k, const uint16_t* w, int64_t ldw, int64_t n, float* c,
                          int64_t ldc);
}  // namespace wenxin::kernels::avx512
