// The reference kernels training adds: gemm_panels and gemm_panels_bf16 (products through a packed
// weight), round_bf16 and exp_f32.
#include <cmath>

#include "core/dtype.h"

#include "kernels/generic/generic.h"

namespace wenxin::kernels::generic {

void gemm_panels(const float* a, int64_t lda, int64_t m, int64_t k, const float* b, int64_t n, float* c, int64_t ldc) {
  for (int64_t j0 = 0; j0 < n; j0 += kGemmPanel) {
    const float* panel = b + j0 * k;
    const int64_t cols = n - j0 < kGemmPanel ? n - j0 : kGemmPanel;
    for (int64_t i = 0; i < m; ++i) {
      float acc[kGemmPanel] = {};
      for (int64_t p = 0; p < k; ++p) {
        const float av = a[i * lda + p];
        for (int64_t j = 0; j < kGemmPanel; ++j) acc[j] += av * panel[p * kGemmPanel + j];
      }
      for (int64_t j = 0; j < cols; ++j) c[i * ldc + j0 + j] += acc[j];
    }
  }
}

void gemm_panels_bf16(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* b, int64_t n, float* c,
                      int64_t ldc, bool accumulate) {
  for (int64_t j0 = 0; j0 < n; j0 += kGemmPanel) {
    const uint16_t* panel = b + j0 * 2 * kp;
    const int64_t cols = n - j0 < kGemmPanel ? n - j0 : kGemmPanel;
    for (int64_t i = 0; i < m; ++i) {
      float acc[kGemmPanel] = {};
      for (int64_t q = 0; q < kp; ++q) {
        // As vdpbf16ps: the odd element's product first; both products are exact.
        const float a0 = bf16_to_f32(a[i * lda + 2 * q]), a1 = bf16_to_f32(a[i * lda + 2 * q + 1]);
        for (int64_t j = 0; j < kGemmPanel; ++j) {
          acc[j] += a1 * bf16_to_f32(panel[(q * kGemmPanel + j) * 2 + 1]);
          acc[j] += a0 * bf16_to_f32(panel[(q * kGemmPanel + j) * 2]);
        }
      }
      for (int64_t j = 0; j < cols; ++j) c[i * ldc + j0 + j] = accumulate ? c[i * ldc + j0 + j] + acc[j] : acc[j];
    }
  }
}

void round_bf16(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = f32_to_bf16(x[i]);
}

void exp_f32(const float* x, float* y, int64_t n) {
  // As the SIMD kernels: 0 where e^x would be a subnormal.
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < -87.0f ? 0.0f : std::exp(x[i]);
}

}  // namespace wenxin::kernels::generic
