// Portable reference kernels: the fallback on every CPU and the oracle for the SIMD paths.
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/kernels.h"
#include "kernels/ops.h"

namespace wenxin::kernels {

void row_to_f32(const void* src, DType type, int64_t n, float* dst) {
  switch (type) {
    case DType::kF32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
    case DType::kBF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    case DType::kF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      return;
    }
    default:
      // Loaders reject other dtypes before any kernel runs.
      std::memset(dst, 0, static_cast<size_t>(n) * 4);
  }
}

float dot_f32(const float* a, const float* b, int64_t n) {
  // Eight independent partial sums: lets the compiler vectorise and bounds rounding growth.
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

double dot_f64(const float* a, const float* b, int64_t n) {
  double lane[4] = {};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int64_t l = 0; l < 4; ++l) lane[l] += static_cast<double>(a[i + l]) * b[i + l];
  double sum = (lane[0] + lane[1]) + (lane[2] + lane[3]);
  for (; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

float inverse_rms_f32(const float* x, int64_t n, float eps) {
  return 1.0f / std::sqrt(static_cast<float>(dot_f64(x, x, n) / static_cast<double>(n)) + eps);
}

void rmsnorm_f32(const float* x, const float* w, int64_t n, float eps, float* y) {
  const float r = inverse_rms_f32(x, n, eps);
  for (int64_t i = 0; i < n; ++i) y[i] = w[i] * (x[i] * r);
}

void rope_interleaved_f32(float* x, int64_t n_heads, int64_t head_dim, const float* cos, const float* sin) {
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      const float a = v[2 * i], b = v[2 * i + 1];
      v[2 * i] = a * cos[i] - b * sin[i];
      v[2 * i + 1] = b * cos[i] + a * sin[i];
    }
  }
}

void softmax_f32(float* x, int64_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  if (!std::isfinite(mx)) {  // all -inf: nothing can be chosen; keep it well-defined
    for (int64_t i = 0; i < n; ++i) x[i] = 0;
    return;
  }
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void silu_mul_f32(float* gate, const float* up, int64_t n) { active_kernels().silu_mul_f32(gate, up, n); }

void axpy_f32(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace wenxin::kernels
