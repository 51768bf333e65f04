#include "model/layers/ffn.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "kernels/kernels.h"
#include "kernels/ops.h"

namespace wenxin::model {

void ffn_forward(const FeedForward& f, const float* x, int64_t tokens, float* out, ThreadPool& pool,
                 const int32_t* adapters) {
  const int64_t width = f.gate.out;
  std::vector<float> gate(tokens * width), up(tokens * width);
  LinearInput in(x, tokens, f.gate.in, adapters);  // quantized once for gate and up
  if (adapters != nullptr && (!f.gate.lora.empty() || !f.up.lora.empty())) {
    // LoRA deltas must land before SiLU: run gate and up whole, then the activation.
    linear_forward(f.gate, in, gate.data(), pool);
    linear_forward(f.up, in, up.data(), pool);
    kernels::silu_mul_f32(gate.data(), up.data(), tokens * width);
    linear_forward(f.down, gate.data(), tokens, out, pool, adapters);
    return;
  }
  if (needs_quantized_input(f.gate) || needs_quantized_input(f.up)) in.quantized(pool);
  // Fused: each thread computes its slice of gate and up rows and applies SiLU · up to it, so the
  // intermediate is finished without another pass or barrier; then the down projection.
  pool.parallel_for(
      width,
      [&](int64_t n0, int64_t n1, int) {
        linear_rows(f.gate, in, n0, n1, gate.data());
        linear_rows(f.up, in, n0, n1, up.data());
        for (int64_t t = 0; t < tokens; ++t)
          kernels::silu_mul_f32(gate.data() + t * width + n0, up.data() + t * width + n0, n1 - n0);
      },
      linear_grain(f.gate, tokens));
  linear_forward(f.down, gate.data(), tokens, out, pool, adapters);
}

namespace {

// Chooses experts for one token: softmax in float32, top-k on probabilities plus the bias,
// mixing weights from the unbiased probabilities renormalised over the chosen k.
void route_token(const float* logits, const std::vector<float>& bias, const MoeRouting& r, int64_t n_experts,
                 int32_t* chosen, float* weights) {
  std::vector<float> p(logits, logits + n_experts);
  kernels::softmax_f32(p.data(), n_experts);
  std::vector<int32_t> order(n_experts);
  std::iota(order.begin(), order.end(), 0);
  // stable: on equal scores the lower expert index wins
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return p[a] + bias[a] > p[b] + bias[b]; });
  float sum = 0;
  for (int64_t j = 0; j < r.top_k; ++j) {
    chosen[j] = order[j];
    weights[j] = p[order[j]];
    sum += weights[j];
  }
  const float denom = std::max(sum, static_cast<float>(r.norm_min));
  for (int64_t j = 0; j < r.top_k; ++j) weights[j] /= denom;
}

}  // namespace

void moe_forward(const MoeBlock& m, const MoeRouting& r, const float* x, int64_t tokens, int64_t hidden, float* out,
                 std::vector<float>* router_logits, ThreadPool& pool, const int32_t* adapters) {
  const int64_t n_experts = static_cast<int64_t>(m.experts.size());
  const int64_t k = r.top_k;

  std::vector<float> logits(tokens * n_experts);
  const auto& K = kernels::active_kernels();
  pool.parallel_for(
      tokens * n_experts,
      [&](int64_t begin, int64_t end, int) {
        for (int64_t i = begin; i < end; ++i)
          logits[i] = K.dot_f32(x + (i / n_experts) * hidden, m.router.data() + (i % n_experts) * hidden, hidden);
      },
      64);
  if (router_logits) *router_logits = logits;

  std::vector<int32_t> chosen(tokens * k);
  std::vector<float> weights(tokens * k);
  for (int64_t t = 0; t < tokens; ++t)
    route_token(logits.data() + t * n_experts, m.score_bias, r, n_experts, chosen.data() + t * k,
                weights.data() + t * k);

  if (m.has_shared) {
    ffn_forward(m.shared, x, tokens, out, pool, adapters);
  } else {
    std::memset(out, 0, tokens * hidden * sizeof(float));
  }

  // Group tokens by expert so each expert's weights are streamed once per step.
  std::vector<std::vector<std::pair<int64_t, float>>> assigned(n_experts);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t j = 0; j < k; ++j) assigned[chosen[t * k + j]].emplace_back(t, weights[t * k + j]);

  std::vector<float> xs, ys;
  std::vector<int32_t> ids;
  for (int64_t e = 0; e < n_experts; ++e) {
    const auto& rows = assigned[e];
    if (rows.empty()) continue;
    const int64_t n = static_cast<int64_t>(rows.size());
    xs.resize(n * hidden);
    ys.resize(n * hidden);
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(xs.data() + i * hidden, x + rows[i].first * hidden, hidden * sizeof(float));
    if (adapters) {
      ids.resize(n);
      for (int64_t i = 0; i < n; ++i) ids[i] = adapters[rows[i].first];
    }
    ffn_forward(m.experts[e], xs.data(), n, ys.data(), pool, adapters ? ids.data() : nullptr);
    for (int64_t i = 0; i < n; ++i)
      K.axpy_f32(rows[i].second, ys.data() + i * hidden, out + rows[i].first * hidden, hidden);
  }
}

}  // namespace wenxin::model
