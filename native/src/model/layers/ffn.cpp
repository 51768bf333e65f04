#include "model/layers/ffn.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>

#include "kernels/kernels.h"
#include "kernels/ops.h"

namespace wenxin::model {

void ffn_forward(const FeedForward& f, const float* x, int64_t tokens, float* out, StepScratch& scratch,
                 ThreadPool& pool, const int32_t* adapters) {
  const int64_t width = f.gate.out;
  // The step's scratch (every element is written before it is read): a 512-token prefill's 12 MB here
  // are mapped once per step, not again for every layer.
  if (scratch.gate.size() < static_cast<size_t>(tokens * width)) {
    scratch.gate.resize(tokens * width);
    scratch.up.resize(tokens * width);
  }
  float* gate = scratch.gate.data();
  float* up = scratch.up.data();
  LinearInput in(x, tokens, f.gate.in, adapters);  // quantized once for gate and up
  if (adapters != nullptr && (!f.gate.lora.empty() || !f.up.lora.empty())) {
    // LoRA deltas must land before SiLU: run gate and up whole, then the activation.
    linear_forward(f.gate, in, gate, pool);
    linear_forward(f.up, in, up, pool);
    kernels::silu_mul_f32(gate, up, tokens * width);
    linear_forward(f.down, gate, tokens, out, pool, adapters);
    return;
  }
  in.prepare(f.gate, pool);
  in.prepare(f.up, pool);
  // Fused: each thread computes its slice of gate and up rows and applies SiLU · up to it, so the
  // intermediate is finished without another pass or barrier; then the down projection.
  pool.parallel_for(
      width,
      [&](int64_t n0, int64_t n1, int) {
        linear_rows(f.gate, in, n0, n1, gate);
        linear_rows(f.up, in, n0, n1, up);
        for (int64_t t = 0; t < tokens; ++t) kernels::silu_mul_f32(gate + t * width + n0, up + t * width + n0, n1 - n0);
      },
      linear_grain(f.gate, tokens),
      linear_chunks(width * (weight_row_bytes(f.gate) + weight_row_bytes(f.up)), pool.size(), tokens));
  linear_forward(f.down, gate, tokens, out, pool, adapters);
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

// Expert FFNs without LoRA, each over the tokens routed to it (gathered: one GEMM per expert), summed into
// `out` as weight × output in the order given. Every expert's gate/up (SiLU fused) runs in one parallel
// loop and every down projection in another, over the experts' rows laid end to end (each expert's block
// starting on a whole grain, so tiles stay whole): two barriers per MoE layer instead of two per expert.
// An expert that every token of the step was routed to, in order (the shared experts; every expert at
// decode), reads `x` itself, quantized once for all such experts, instead of a gathered copy.
using TokenWeights = std::vector<std::pair<int64_t, float>>;
void experts_forward(const std::vector<std::pair<const FeedForward*, const TokenWeights*>>& work, const float* x,
                     int64_t tokens, int64_t hidden, float* out, ThreadPool& pool) {
  struct Group {
    const FeedForward* f;
    const TokenWeights* rows;
    int64_t n;
    std::vector<float> xs, gate, up, ys;
    LinearInput* in = nullptr;
    std::unique_ptr<LinearInput> own_in, mid;
    int64_t up_begin = 0, down_begin = 0;  // the group's first row in each loop's row space
  };
  std::vector<Group> groups;
  for (const auto& [f, rows] : work) {
    if (rows->empty()) continue;
    Group g;
    g.f = f;
    g.rows = rows;
    g.n = static_cast<int64_t>(rows->size());
    groups.push_back(std::move(g));
  }
  if (groups.empty()) return;
  const int64_t tokens_max =
      std::max_element(groups.begin(), groups.end(), [](const Group& a, const Group& b) { return a.n < b.n; })->n;
  const int64_t up_grain = linear_grain(groups[0].f->gate, tokens_max);
  const int64_t down_grain = linear_grain(groups[0].f->down, tokens_max);
  auto round_up = [](int64_t v, int64_t g) { return (v + g - 1) / g * g; };
  int64_t up_rows = 0, down_rows = 0, up_bytes = 0, down_bytes = 0;
  LinearInput whole(x, tokens, hidden);
  for (Group& g : groups) {
    const int64_t width = g.f->gate.out;
    bool all = g.n == tokens;
    for (int64_t i = 0; all && i < g.n; ++i) all = (*g.rows)[i].first == i;
    if (all) {
      g.in = &whole;
    } else {
      g.xs.resize(g.n * hidden);
      for (int64_t i = 0; i < g.n; ++i)
        std::memcpy(g.xs.data() + i * hidden, x + (*g.rows)[i].first * hidden, hidden * sizeof(float));
      g.own_in = std::make_unique<LinearInput>(g.xs.data(), g.n, hidden);
      g.in = g.own_in.get();
    }
    g.gate.resize(g.n * width);
    g.up.resize(g.n * width);
    g.ys.resize(g.n * hidden);
    g.in->prepare(g.f->gate, pool);
    g.in->prepare(g.f->up, pool);
    g.up_begin = up_rows;
    up_rows += round_up(width, up_grain);
    g.down_begin = down_rows;
    down_rows += round_up(hidden, down_grain);
    up_bytes += width * (weight_row_bytes(g.f->gate) + weight_row_bytes(g.f->up));
    down_bytes += hidden * weight_row_bytes(g.f->down);
  }
  // Calls fn(group, local row range) for the groups' rows that fall in [r0, r1) of a loop's row space.
  auto each = [&](int64_t r0, int64_t r1, bool down, const auto& fn) {
    for (Group& g : groups) {
      const int64_t begin = down ? g.down_begin : g.up_begin, rows = down ? hidden : g.f->gate.out;
      const int64_t a = std::max(r0, begin) - begin, b = std::min(r1, begin + rows) - begin;
      if (a < b) fn(g, a, b);
    }
  };
  pool.parallel_for(
      up_rows,
      [&](int64_t r0, int64_t r1, int) {
        each(r0, r1, false, [](Group& g, int64_t n0, int64_t n1) {
          const int64_t width = g.f->gate.out;
          linear_rows(g.f->gate, *g.in, n0, n1, g.gate.data());
          linear_rows(g.f->up, *g.in, n0, n1, g.up.data());
          for (int64_t t = 0; t < g.n; ++t)
            kernels::silu_mul_f32(g.gate.data() + t * width + n0, g.up.data() + t * width + n0, n1 - n0);
        });
      },
      up_grain, linear_chunks(up_bytes, pool.size()));
  for (Group& g : groups) {
    g.mid = std::make_unique<LinearInput>(g.gate.data(), g.n, g.f->down.in);
    g.mid->prepare(g.f->down, pool);
  }
  pool.parallel_for(
      down_rows,
      [&](int64_t r0, int64_t r1, int) {
        each(r0, r1, true,
             [](Group& g, int64_t n0, int64_t n1) { linear_rows(g.f->down, *g.mid, n0, n1, g.ys.data()); });
      },
      down_grain, linear_chunks(down_bytes, pool.size()));
  const auto& K = kernels::active_kernels();
  for (const Group& g : groups)
    for (int64_t i = 0; i < g.n; ++i)
      K.axpy_f32((*g.rows)[i].second, g.ys.data() + i * hidden, out + (*g.rows)[i].first * hidden, hidden);
}

}  // namespace

void moe_forward(const MoeBlock& m, const MoeRouting& r, const float* x, int64_t tokens, int64_t hidden, float* out,
                 std::vector<float>* router_logits, StepScratch& scratch, ThreadPool& pool, const int32_t* adapters) {
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

  // Group tokens by expert so each expert's weights are streamed once per step.
  std::vector<TokenWeights> assigned(n_experts);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t j = 0; j < k; ++j) assigned[chosen[t * k + j]].emplace_back(t, weights[t * k + j]);

  if (adapters == nullptr) {
    // The shared experts first (weight 1 onto zeros: exactly their output), then the routed ones.
    std::memset(out, 0, tokens * hidden * sizeof(float));
    TokenWeights all;
    std::vector<std::pair<const FeedForward*, const TokenWeights*>> work;
    if (m.has_shared) {
      for (int64_t t = 0; t < tokens; ++t) all.emplace_back(t, 1.0f);
      work.emplace_back(&m.shared, &all);
    }
    for (int64_t e = 0; e < n_experts; ++e) work.emplace_back(&m.experts[e], &assigned[e]);
    experts_forward(work, x, tokens, hidden, out, pool);
    return;
  }
  if (m.has_shared) {
    ffn_forward(m.shared, x, tokens, out, scratch, pool, adapters);
  } else {
    std::memset(out, 0, tokens * hidden * sizeof(float));
  }
  // With LoRA adapters: one expert at a time through ffn_forward, which applies their deltas.
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
    ids.resize(n);
    for (int64_t i = 0; i < n; ++i) ids[i] = adapters[rows[i].first];
    ffn_forward(m.experts[e], xs.data(), n, ys.data(), scratch, pool, ids.data());
    for (int64_t i = 0; i < n; ++i)
      K.axpy_f32(rows[i].second, ys.data() + i * hidden, out + rows[i].first * hidden, hidden);
  }
}

}  // namespace wenxin::model
