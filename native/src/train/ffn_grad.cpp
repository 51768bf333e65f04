#include "train/ffn_grad.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/kernels.h"
#include "kernels/ops.h"
#include "train/matmul.h"
#include "train/step_timers.h"

namespace wenxin::train {

namespace {

// silu(gate)·up, elementwise in chunks across the pool.
void activation(const FfnActs& acts, int64_t n, std::vector<float>* act, ThreadPool& pool) {
  act->resize(n);
  float* out = act->data();
  pool.parallel_for(
      n,
      [&](int64_t b, int64_t e, int) {
        std::copy(acts.gate.data() + b, acts.gate.data() + e, out + b);
        kernels::silu_mul_f32(out + b, acts.up.data() + b, e - b);
      },
      64, kLoopChunks);
}

}  // namespace

void ffn_forward_train(const model::FeedForward& f, const FfnLora& lora, const float* x, int64_t T,
                       const DropoutKey& key, float* y, FfnActs* acts, ThreadPool& pool) {
  const int64_t width = f.gate.out, hidden = f.gate.in;
  acts->gate.resize(T * width);
  acts->up.resize(T * width);
  model::LinearInput in(x, T, hidden);  // quantized once for gate and up
  {
    TRAIN_PHASE("fwd.ffn.gate_up");
    linear_forward_train(f.gate, in, acts->gate.data(), pool);
    linear_forward_train(f.up, in, acts->up.data(), pool);
  }
  auto add = [&](const LoraView& v, std::vector<float>* u, int64_t row0, float* out) {
    lora_up(v, u->data(), T, row0, width, out, pool);
  };
  if (lora.gate_up.active()) {
    acts->u_gate_up.resize(T * lora.gate_up.rank);
    lora_down(lora.gate_up, x, T, hidden, key, acts->u_gate_up.data(), pool);
    add(lora.gate_up, &acts->u_gate_up, 0, acts->gate.data());
    add(lora.gate_up, &acts->u_gate_up, width, acts->up.data());
  }
  if (lora.gate.active()) {
    acts->u_gate.resize(T * lora.gate.rank);
    lora_down(lora.gate, x, T, hidden, key, acts->u_gate.data(), pool);
    add(lora.gate, &acts->u_gate, 0, acts->gate.data());
  }
  if (lora.up.active()) {
    acts->u_up.resize(T * lora.up.rank);
    lora_down(lora.up, x, T, hidden, key, acts->u_up.data(), pool);
    add(lora.up, &acts->u_up, 0, acts->up.data());
  }
  // silu(gate)·up is not kept: the backward recomputes it where it needs it (cheap, and a sixth of
  // a dense layer's intermediates).
  thread_local std::vector<float> act;
  {
    TRAIN_PHASE("fwd.ffn.act");
    activation(*acts, T * width, &act, pool);
  }
  model::LinearInput act_in(act.data(), T, width);
  {
    TRAIN_PHASE("fwd.ffn.down");
    linear_forward_train(f.down, act_in, y, pool);
  }
  if (lora.down.active()) {
    acts->u_down.resize(T * lora.down.rank);
    lora_down(lora.down, act.data(), T, width, key, acts->u_down.data(), pool);
    lora_up(lora.down, acts->u_down.data(), T, 0, hidden, y, pool);
  }
}

void ffn_backward_train(const model::FeedForward& f, const FfnLora& lora, const float* x, int64_t T,
                        const DropoutKey& key, const FfnActs& acts, const float* dy, float* dx, ThreadPool& pool) {
  const int64_t width = f.gate.out, hidden = f.gate.in;
  // Reused: no fresh pages every layer. (The pool's lambdas see the caller's buffers through references.)
  thread_local std::vector<float> t_dact, t_dgate, t_dup;
  std::vector<float>& dact = t_dact;
  std::vector<float>& dgate = t_dgate;
  std::vector<float>& dup = t_dup;
  dact.resize(T * width);
  {
    TRAIN_PHASE("bwd.ffn.down");
    linear_input_grad(f.down, dy, T, dact.data(), false, pool);
  }
  if (lora.down.active()) {
    std::vector<float> du(T * lora.down.rank, 0.0f);
    lora_up_backward(lora.down, dy, acts.u_down.data(), T, 0, hidden, du.data(), pool);
    std::vector<float> act;
    activation(acts, T * width, &act, pool);
    lora_down_backward(lora.down, du.data(), act.data(), T, width, key, dact.data(), pool);
  }
  dgate.resize(T * width);
  dup.resize(T * width);
  const auto& K = kernels::active_kernels();
  TRAIN_PHASE("bwd.ffn.swiglu");
  pool.parallel_for(
      T * width,
      [&](int64_t b, int64_t e, int) {
        K.silu_mul_grad_f32(acts.gate.data() + b, acts.up.data() + b, dact.data() + b, dgate.data() + b, dup.data() + b,
                            e - b);
      },
      256, kLoopChunks);
  if (dx != nullptr) {
    TRAIN_PHASE("bwd.ffn.gate_up");
    linear_input_grad(f.gate, dgate.data(), T, dx, true, pool);
    linear_input_grad(f.up, dup.data(), T, dx, true, pool);
  }
  if (lora.gate_up.active()) {
    std::vector<float> du(T * lora.gate_up.rank, 0.0f);
    lora_up_backward(lora.gate_up, dgate.data(), acts.u_gate_up.data(), T, 0, width, du.data(), pool);
    lora_up_backward(lora.gate_up, dup.data(), acts.u_gate_up.data(), T, width, width, du.data(), pool);
    lora_down_backward(lora.gate_up, du.data(), x, T, hidden, key, dx, pool);
  }
  for (const auto& [v, u, d] : {std::tuple{&lora.gate, &acts.u_gate, &dgate}, std::tuple{&lora.up, &acts.u_up, &dup}}) {
    if (!v->active()) continue;
    std::vector<float> du(T * v->rank, 0.0f);
    lora_up_backward(*v, d->data(), u->data(), T, 0, width, du.data(), pool);
    lora_down_backward(*v, du.data(), x, T, hidden, key, dx, pool);
  }
}

namespace {

// Expert e's LoRA views; the gathered B columns (and their gradients) live in `gu` and `dn`.
FfnLora expert_lora(const MoeLora& lora, int64_t e, ExpertLora* gu, ExpertLora* dn) {
  FfnLora out;
  if (lora.experts_gate_up) {
    gather_expert(lora.experts_gate_up, e, gu);
    out.gate_up = gu->view;
  }
  if (lora.experts_down) {
    gather_expert(lora.experts_down, e, dn);
    out.down = dn->view;
  }
  return out;
}

}  // namespace

void moe_forward_train(const model::MoeBlock& m, const model::MoeRouting& routing, const MoeLora& lora, const float* x,
                       int64_t T, int64_t hidden, const DropoutKey& key, float* out, MoeActs* acts, ThreadPool& pool) {
  const auto& K = kernels::active_kernels();
  const int64_t E = static_cast<int64_t>(m.experts.size()), k = routing.top_k;
  acts->probs.resize(T * E);
  pool.parallel_for(
      T,
      [&](int64_t t0, int64_t t1, int) {
        for (int64_t t = t0; t < t1; ++t) {
          for (int64_t e = 0; e < E; ++e)
            acts->probs[t * E + e] = K.dot_f32(x + t * hidden, m.router.data() + e * hidden, hidden);
          kernels::softmax_f32(acts->probs.data() + t * E, E);
        }
      },
      1, kLoopChunks);
  acts->chosen.resize(T * k);
  acts->weights.resize(T * k);
  acts->denom.resize(T);
  std::vector<int32_t> order(E);
  for (int64_t t = 0; t < T; ++t) {
    const float* p = acts->probs.data() + t * E;
    std::iota(order.begin(), order.end(), 0);
    // The bias only chooses (stable: the lower expert wins a tie); the weights are the plain probabilities.
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return p[a] + m.score_bias[a] > p[b] + m.score_bias[b]; });
    float sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += p[order[j]];
    acts->denom[t] = sum;
    const float denom = std::max(sum, static_cast<float>(routing.norm_min));
    for (int64_t j = 0; j < k; ++j) {
      acts->chosen[t * k + j] = order[j];
      acts->weights[t * k + j] = p[order[j]] / denom;
    }
  }
  if (m.has_shared)
    ffn_forward_train(m.shared, lora.shared, x, T, key, out, &acts->shared, pool);
  else
    std::fill(out, out + T * hidden, 0.0f);

  acts->experts.assign(E, {});
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < k; ++j) {
      MoeActs::Expert& ex = acts->experts[acts->chosen[t * k + j]];
      ex.tokens.push_back(static_cast<int32_t>(t));
      ex.slot.push_back(static_cast<int32_t>(j));
    }
  ExpertLora gu, dn;
  std::vector<int32_t> keys;
  for (int64_t e = 0; e < E; ++e) {
    MoeActs::Expert& ex = acts->experts[e];
    const int64_t n = static_cast<int64_t>(ex.tokens.size());
    if (n == 0) continue;
    ex.x.resize(n * hidden);
    ex.y.resize(n * hidden);
    keys.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      std::copy(x + ex.tokens[i] * hidden, x + (ex.tokens[i] + 1) * hidden, ex.x.data() + i * hidden);
      keys[i] = key.tokens ? key.tokens[ex.tokens[i]] : ex.tokens[i];
    }
    const FfnLora el = expert_lora(lora, e, &gu, &dn);
    ffn_forward_train(m.experts[e], el, ex.x.data(), n, DropoutKey{key.seed, keys.data(), key.enabled}, ex.y.data(),
                      &ex.acts, pool);
    for (int64_t i = 0; i < n; ++i)
      K.axpy_f32(acts->weights[ex.tokens[i] * k + ex.slot[i]], ex.y.data() + i * hidden, out + ex.tokens[i] * hidden,
                 hidden);
  }
}

void moe_backward_train(const model::MoeBlock& m, const model::MoeRouting& routing, const MoeLora& lora, const float* x,
                        int64_t T, int64_t hidden, const DropoutKey& key, const MoeActs& acts, const float* dout,
                        float* dx, ThreadPool& pool) {
  const auto& K = kernels::active_kernels();
  const int64_t E = static_cast<int64_t>(m.experts.size()), k = routing.top_k;
  if (m.has_shared) ffn_backward_train(m.shared, lora.shared, x, T, key, acts.shared, dout, dx, pool);

  std::vector<float> dweights(T * k, 0.0f);  // d loss / d mixing weight
  ExpertLora gu, dn;
  std::vector<int32_t> keys;
  std::vector<float> dy, dxs;
  for (int64_t e = 0; e < E; ++e) {
    const MoeActs::Expert& ex = acts.experts[e];
    const int64_t n = static_cast<int64_t>(ex.tokens.size());
    if (n == 0) continue;
    dy.resize(n * hidden);
    keys.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t t = ex.tokens[i];
      const float w = acts.weights[t * k + ex.slot[i]];
      for (int64_t c = 0; c < hidden; ++c) dy[i * hidden + c] = w * dout[t * hidden + c];
      dweights[t * k + ex.slot[i]] = K.dot_f32(dout + t * hidden, ex.y.data() + i * hidden, hidden);
      keys[i] = key.tokens ? key.tokens[t] : static_cast<int32_t>(t);
    }
    const FfnLora el = expert_lora(lora, e, &gu, &dn);
    dxs.assign(dx ? n * hidden : 0, 0.0f);
    ffn_backward_train(m.experts[e], el, ex.x.data(), n, DropoutKey{key.seed, keys.data(), key.enabled}, ex.acts,
                       dy.data(), dx ? dxs.data() : nullptr, pool);
    if (lora.experts_gate_up) scatter_expert_grad(lora.experts_gate_up, e, gu);
    if (lora.experts_down) scatter_expert_grad(lora.experts_down, e, dn);
    if (dx)
      for (int64_t i = 0; i < n; ++i) K.axpy_f32(1.0f, dxs.data() + i * hidden, dx + ex.tokens[i] * hidden, hidden);
  }
  if (dx == nullptr) return;
  // Through the weights: w_j = p_j / Z over the chosen (Z = their sum, clamped at norm_min), then the softmax.
  pool.parallel_for(
      T,
      [&](int64_t t0, int64_t t1, int) {
        std::vector<float> dp(E), dlogit(E);
        for (int64_t t = t0; t < t1; ++t) {
          const float* p = acts.probs.data() + t * E;
          const float* dw = dweights.data() + t * k;
          const int32_t* ch = acts.chosen.data() + t * k;
          std::fill(dp.begin(), dp.end(), 0.0f);
          const float z = acts.denom[t];
          if (z >= static_cast<float>(routing.norm_min)) {
            float dot = 0;
            for (int64_t j = 0; j < k; ++j) dot += dw[j] * p[ch[j]];
            for (int64_t j = 0; j < k; ++j) dp[ch[j]] = dw[j] / z - dot / (z * z);
          } else {
            for (int64_t j = 0; j < k; ++j) dp[ch[j]] = dw[j] / static_cast<float>(routing.norm_min);
          }
          float pdp = 0;
          for (int64_t e = 0; e < E; ++e) pdp += p[e] * dp[e];
          for (int64_t e = 0; e < E; ++e) dlogit[e] = p[e] * (dp[e] - pdp);
          for (int64_t e = 0; e < E; ++e) K.axpy_f32(dlogit[e], m.router.data() + e * hidden, dx + t * hidden, hidden);
        }
      },
      1, kLoopChunks);
}

}  // namespace wenxin::train
