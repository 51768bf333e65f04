#include "train/lora_compute.h"

#include <algorithm>
#include <vector>

#include "kernels/kernels.h"
#include "train/matmul.h"

namespace wenxin::train {

namespace {

uint64_t mix(uint64_t z) {  // splitmix64's finaliser
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// PEFT's dropout as a factor per element of x: 0 where dropped, 1 / (1 - p) where kept.
void dropout_factors(const LoraView& v, int64_t T, int64_t in, const DropoutKey& key, std::vector<float>* out,
                     ThreadPool& pool) {
  out->resize(T * in);
  const float keep_scale = 1.0f / (1.0f - v.dropout);
  const auto threshold = static_cast<uint64_t>(static_cast<double>(v.dropout) * 16777216.0);
  pool.parallel_for(
      T,
      [&](int64_t t0, int64_t t1, int) {
        for (int64_t t = t0; t < t1; ++t) {
          const uint64_t token = key.tokens ? static_cast<uint64_t>(key.tokens[t]) : static_cast<uint64_t>(t);
          const uint64_t base = mix(mix(key.seed ^ (v.stream * 0x9E3779B97F4A7C15ull)) ^ token);
          for (int64_t i = 0; i < in; ++i)
            (*out)[t * in + i] = (mix(base + static_cast<uint64_t>(i)) >> 40) >= threshold ? keep_scale : 0.0f;
        }
      },
      1, kLoopChunks);
}

// x with dropout applied, or x itself when p = 0 (then `factors` stays empty).
const float* dropped(const LoraView& v, const float* x, int64_t T, int64_t in, const DropoutKey& key,
                     std::vector<float>* factors, std::vector<float>* buf, ThreadPool& pool) {
  factors->clear();
  if (v.dropout <= 0.0f || !key.enabled) return x;
  dropout_factors(v, T, in, key, factors, pool);
  buf->resize(T * in);
  for (int64_t i = 0; i < T * in; ++i) (*buf)[i] = x[i] * (*factors)[i];
  return buf->data();
}

// c[r][n] += Σ_t s[t][r] · b[t][n] (s [T, r] narrow, b [T, n], both row-major): the LoRA gradients'
// sums over tokens. s is transposed (small); b's rows are copied into gemm_panels' panels, 32 columns
// at a time across the pool, instead of transposing the whole of b.
void sum_over_tokens(const float* s, int64_t T, int64_t r, const float* b, int64_t n, float* c, ThreadPool& pool) {
  constexpr int64_t kPanel = kernels::kGemmPanel;
  thread_local std::vector<float> t_s_t;
  std::vector<float>& s_t = t_s_t;
  s_t.resize(r * T);
  transpose(s, T, r, s_t.data(), pool);
  const auto& K = kernels::active_kernels();
  const int64_t panels = (n + kPanel - 1) / kPanel;
  pool.parallel_for(
      panels,
      [&](int64_t p0, int64_t p1, int) {
        thread_local std::vector<float> panel;
        panel.resize(T * kPanel);
        for (int64_t p = p0; p < p1; ++p) {
          const int64_t j0 = p * kPanel, cols = std::min(kPanel, n - j0);
          for (int64_t t = 0; t < T; ++t) {
            std::copy(b + t * n + j0, b + t * n + j0 + cols, panel.data() + t * kPanel);
            std::fill(panel.data() + t * kPanel + cols, panel.data() + (t + 1) * kPanel, 0.0f);
          }
          K.gemm_panels(s_t.data(), T, r, T, panel.data(), cols, c + j0, n);
        }
      },
      1, static_cast<int>(std::clamp<int64_t>(panels, 1, 0xFFFF)));
}

}  // namespace

void lora_down(const LoraView& v, const float* x, int64_t T, int64_t in, const DropoutKey& key, float* u,
               ThreadPool& pool) {
  if (T == 0) return;
  std::vector<float> factors, buf;
  const float* xd = dropped(v, x, T, in, key, &factors, &buf, pool);
  matmul_nt(xd, T, in, v.a, v.rank, u, 1.0f, false, pool);
}

void lora_up(const LoraView& v, const float* u, int64_t T, int64_t b_row0, int64_t out, float* y, ThreadPool& pool) {
  if (T == 0) return;
  matmul_nt(u, T, v.rank, v.b + b_row0 * v.rank, out, y, v.scaling, true, pool);
}

void lora_up_backward(const LoraView& v, const float* dy, const float* u, int64_t T, int64_t b_row0, int64_t out,
                      float* du, ThreadPool& pool) {
  if (T == 0) return;
  const int64_t r = v.rank;
  thread_local std::vector<float> g_t, b_t;  // reused: no fresh pages every call
  // grad_B[o][r] += scaling · Σ_t dy[t][o] u[t][r], summed as its transpose [r][out].
  g_t.assign(r * out, 0.0f);
  sum_over_tokens(u, T, r, dy, out, g_t.data(), pool);
  float* grad_b = v.grad_b + b_row0 * r;
  for (int64_t o = 0; o < out; ++o)
    for (int64_t j = 0; j < r; ++j) grad_b[o * r + j] += v.scaling * g_t[j * out + o];
  b_t.resize(r * out);
  transpose(v.b + b_row0 * r, out, r, b_t.data(), pool);
  matmul_nt(dy, T, out, b_t.data(), r, du, v.scaling, true, pool);
}

void lora_down_backward(const LoraView& v, const float* du, const float* x, int64_t T, int64_t in,
                        const DropoutKey& key, float* dx, ThreadPool& pool) {
  if (T == 0) return;
  const int64_t r = v.rank;
  std::vector<float> factors, buf;
  const float* xd = dropped(v, x, T, in, key, &factors, &buf, pool);
  thread_local std::vector<float> a_t, part;          // reused: no fresh pages every call
  sum_over_tokens(du, T, r, xd, in, v.grad_a, pool);  // grad_A[r][i] += Σ_t du[t][r] x[t][i]
  if (dx == nullptr) return;
  a_t.resize(in * r);
  transpose(v.a, r, in, a_t.data(), pool);
  if (factors.empty()) {
    matmul_nt(du, T, r, a_t.data(), in, dx, 1.0f, true, pool);
    return;
  }
  // The gradient reaches x only where the element was kept, scaled like it.
  part.resize(T * in);
  matmul_nt(du, T, r, a_t.data(), in, part.data(), 1.0f, false, pool);
  for (int64_t i = 0; i < T * in; ++i) dx[i] += part[i] * factors[i];
}

}  // namespace wenxin::train
