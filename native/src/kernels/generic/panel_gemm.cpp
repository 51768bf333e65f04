// The reference gemm_panels: the products training runs through a packed weight.
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

}  // namespace wenxin::kernels::generic
