#include "train/layer_grad.h"

#include <cmath>

#include "kernels/ops.h"
#include "train/matmul.h"
#include "train/step_timers.h"

namespace wenxin::train {

namespace {

void rope_rows(float* x, int64_t T, int64_t heads, int64_t d, const std::vector<float>& cos,
               const std::vector<float>& sin, ThreadPool& pool) {
  const int64_t half = d / 2;
  pool.parallel_for(
      T,
      [&](int64_t t0, int64_t t1, int) {
        for (int64_t t = t0; t < t1; ++t)
          kernels::rope_interleaved_f32(x + t * heads * d, heads, d, cos.data() + t * half, sin.data() + t * half);
      },
      1, kLoopChunks);
}

// y[i] += x[i], in chunks across the pool.
void add_rows(float* y, const float* x, int64_t n, ThreadPool& pool) {
  pool.parallel_for(
      n,
      [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) y[i] += x[i];
      },
      64, kLoopChunks);
}

// y = x·Wᵀ + LoRA, keeping LoRA's A·x in `u`.
void project(const model::Linear& w, const LoraView& lora, model::LinearInput& in, int64_t T, const DropoutKey& key,
             float* y, std::vector<float>* u, ThreadPool& pool) {
  linear_forward_train(w, in, y, pool);
  if (!lora.active()) return;
  u->resize(T * lora.rank);
  lora_down(lora, in.data(), T, w.in, key, u->data(), pool);
  lora_up(lora, u->data(), T, 0, w.out, y, pool);
}

// Backward of `project` for LoRA: its gradients, and its part of dx when dx is set.
void project_lora_backward(const model::Linear& w, const LoraView& lora, const float* x, int64_t T,
                           const DropoutKey& key, const float* dy, const std::vector<float>& u, float* dx,
                           ThreadPool& pool) {
  if (!lora.active()) return;
  std::vector<float> du(T * lora.rank, 0.0f);
  lora_up_backward(lora, dy, u.data(), T, 0, w.out, du.data(), pool);
  lora_down_backward(lora, du.data(), x, T, w.in, key, dx, pool);
}

}  // namespace

namespace {

template <class... V>
int64_t vectors_bytes(const V&... v) {
  return ((static_cast<int64_t>(v.capacity() * sizeof(typename V::value_type))) + ... + 0);
}

int64_t ffn_acts_bytes(const FfnActs& a) {
  return vectors_bytes(a.gate, a.up, a.u_gate, a.u_up, a.u_gate_up, a.u_down);
}

}  // namespace

int64_t acts_bytes(const LayerActs& a) {
  int64_t n = vectors_bytes(a.normed, a.q, a.k, a.v, a.u_q, a.u_k, a.u_v, a.u_o, a.ctx, a.lse, a.mid, a.ffn_in) +
              ffn_acts_bytes(a.mlp) + ffn_acts_bytes(a.moe.shared) +
              vectors_bytes(a.moe.probs, a.moe.chosen, a.moe.weights, a.moe.denom);
  for (const MoeActs::Expert& e : a.moe.experts)
    n += vectors_bytes(e.tokens, e.slot, e.x, e.y) + ffn_acts_bytes(e.acts);
  return n;
}

void rmsnorm_rows(const float* x, const float* w, int64_t rows, int64_t n, float eps, float* y, ThreadPool& pool) {
  pool.parallel_for(
      rows,
      [&](int64_t r0, int64_t r1, int) {
        for (int64_t r = r0; r < r1; ++r) kernels::rmsnorm_f32(x + r * n, w, n, eps, y + r * n);
      },
      1, kLoopChunks);
}

void rmsnorm_backward(const float* x, const float* w, int64_t rows, int64_t n, float eps, const float* dy, float* dx,
                      bool accumulate, ThreadPool& pool) {
  // y = w ⊙ x·r, r = 1/√(mean(x²) + ε): with g = w ⊙ dy, dx = r·g − x·(r³/n)·Σ g·x.
  pool.parallel_for(
      rows,
      [&](int64_t r0, int64_t r1, int) {
        thread_local std::vector<float> g;
        g.resize(n);
        for (int64_t row = r0; row < r1; ++row) {
          const float* xr = x + row * n;
          const float* dyr = dy + row * n;
          float* dxr = dx + row * n;
          const float r = kernels::inverse_rms_f32(xr, n, eps);
          for (int64_t i = 0; i < n; ++i) g[i] = w[i] * dyr[i];
          const float c = static_cast<float>(kernels::dot_f64(g.data(), xr, n)) * r * r * r / static_cast<float>(n);
          for (int64_t i = 0; i < n; ++i) {
            const float v = r * g[i] - xr[i] * c;
            dxr[i] = accumulate ? dxr[i] + v : v;
          }
        }
      },
      1, kLoopChunks);
}

void layer_forward_train(const model::LayerWeights& w, const Ernie45Hparams& hp, const LayerLora& lora,
                         const BatchContext& ctx, const float* x, float* y, LayerActs* acts, ThreadPool& pool) {
  LayerActs local;
  LayerActs& a = acts ? *acts : local;
  const int64_t T = ctx.tokens, H = hp.hidden_size, qd = hp.q_dim(), kvd = hp.kv_dim();
  const float eps = hp.rms_norm_eps;
  a.normed.resize(T * H);
  {
    TRAIN_PHASE("fwd.norm");
    rmsnorm_rows(x, w.attn_norm.data(), T, H, eps, a.normed.data(), pool);
  }
  a.q.resize(T * qd);
  a.k.resize(T * kvd);
  a.v.resize(T * kvd);
  model::LinearInput in(a.normed.data(), T, H);  // quantized once for q, k and v
  {
    TRAIN_PHASE("fwd.qkv");
    project(w.q, lora.q, in, T, ctx.dropout, a.q.data(), &a.u_q, pool);
    project(w.k, lora.k, in, T, ctx.dropout, a.k.data(), &a.u_k, pool);
    project(w.v, lora.v, in, T, ctx.dropout, a.v.data(), &a.u_v, pool);
  }
  {
    TRAIN_PHASE("fwd.rope");
    rope_rows(a.q.data(), T, hp.num_heads, hp.head_dim, ctx.cos, ctx.sin, pool);
    rope_rows(a.k.data(), T, hp.num_kv_heads, hp.head_dim, ctx.cos, ctx.sin, pool);
  }
  const AttentionDims dims{hp.num_heads, hp.num_kv_heads, hp.head_dim};
  a.ctx.resize(T * qd);
  a.lse.resize(T * hp.num_heads);
  {
    // On a quantized base the attention's forward stays float32 in bf16 compute too: the products after
    // it quantize their input to int8 per row, and a bf16 rounding here flips whole int8 steps there.
    TRAIN_PHASE("fwd.attention");
    const Bf16ComputeScope attention(bf16_compute() && w.o.format == WeightFormat::kFloat);
    attention_forward_train(dims, ctx.seqs, a.q.data(), a.k.data(), a.v.data(), a.ctx.data(), a.lse.data(), pool);
  }
  a.mid.resize(T * H);
  model::LinearInput ctx_in(a.ctx.data(), T, qd);
  {
    TRAIN_PHASE("fwd.o");
    project(w.o, lora.o, ctx_in, T, ctx.dropout, a.mid.data(), &a.u_o, pool);
  }
  {
    TRAIN_PHASE("fwd.residual");
    add_rows(a.mid.data(), x, T * H, pool);
  }
  a.ffn_in.resize(T * H);
  {
    TRAIN_PHASE("fwd.norm");
    rmsnorm_rows(a.mid.data(), w.ffn_norm.data(), T, H, eps, a.ffn_in.data(), pool);
  }
  if (w.is_moe) {
    const model::MoeRouting routing{hp.moe_k, hp.moe_norm_min};
    moe_forward_train(w.moe, routing, lora.moe, a.ffn_in.data(), T, H, ctx.dropout, y, &a.moe, pool);
  } else {
    {
      TRAIN_PHASE("fwd.ffn");
      ffn_forward_train(w.ffn, lora.mlp, a.ffn_in.data(), T, ctx.dropout, y, &a.mlp, pool);
    }
  }
  {
    TRAIN_PHASE("fwd.residual");
    add_rows(y, a.mid.data(), T * H, pool);
  }
}

void layer_backward_train(const model::LayerWeights& w, const Ernie45Hparams& hp, const LayerLora& lora,
                          const BatchContext& ctx, const float* x, const LayerActs& a, const float* dy, float* dx,
                          ThreadPool& pool) {
  const int64_t T = ctx.tokens, H = hp.hidden_size, qd = hp.q_dim(), kvd = hp.kv_dim();
  const float eps = hp.rms_norm_eps;
  // Feed-forward half: dmid = dy + ∂ffn/∂mid.
  // The gradients' buffers are the thread's, reused from layer to layer and step to step (fresh ones
  // would be fresh pages, cleared by the kernel, every layer).
  thread_local std::vector<float> dffn_in, dmid, dctx, dq, dk, dv, dnormed;
  dffn_in.assign(T * H, 0.0f);
  if (w.is_moe) {
    const model::MoeRouting routing{hp.moe_k, hp.moe_norm_min};
    moe_backward_train(w.moe, routing, lora.moe, a.ffn_in.data(), T, H, ctx.dropout, a.moe, dy, dffn_in.data(), pool);
  } else {
    {
      TRAIN_PHASE("bwd.ffn");
      ffn_backward_train(w.ffn, lora.mlp, a.ffn_in.data(), T, ctx.dropout, a.mlp, dy, dffn_in.data(), pool);
    }
  }
  {
    TRAIN_PHASE("bwd.norm");
    dmid.assign(dy, dy + T * H);
    rmsnorm_backward(a.mid.data(), w.ffn_norm.data(), T, H, eps, dffn_in.data(), dmid.data(), true, pool);
  }

  // Attention half.
  dctx.resize(T * qd);
  {
    TRAIN_PHASE("bwd.o");
    linear_input_grad(w.o, dmid.data(), T, dctx.data(), false, pool);
  }
  {
    TRAIN_PHASE("bwd.lora");
    project_lora_backward(w.o, lora.o, a.ctx.data(), T, ctx.dropout, dmid.data(), a.u_o, dctx.data(), pool);
  }
  dq.resize(T * qd);
  dk.resize(T * kvd);
  dv.resize(T * kvd);
  const AttentionDims dims{hp.num_heads, hp.num_kv_heads, hp.head_dim};
  {
    TRAIN_PHASE("bwd.attention");
    attention_backward_train(dims, ctx.seqs, a.q.data(), a.k.data(), a.v.data(), a.ctx.data(), a.lse.data(),
                             dctx.data(), dq.data(), dk.data(), dv.data(), pool);
  }
  // RoPE is a rotation: its backward rotates back.
  {
    TRAIN_PHASE("bwd.rope");
    rope_rows(dq.data(), T, hp.num_heads, hp.head_dim, ctx.cos, ctx.neg_sin, pool);
    rope_rows(dk.data(), T, hp.num_kv_heads, hp.head_dim, ctx.cos, ctx.neg_sin, pool);
  }
  if (dx != nullptr) {
    TRAIN_PHASE("bwd.qkv");
    dnormed.resize(T * H);
    linear_input_grad(w.q, dq.data(), T, dnormed.data(), false, pool);
    linear_input_grad(w.k, dk.data(), T, dnormed.data(), true, pool);
    linear_input_grad(w.v, dv.data(), T, dnormed.data(), true, pool);
  }
  float* dn = dx ? dnormed.data() : nullptr;
  {
    TRAIN_PHASE("bwd.lora");
    project_lora_backward(w.q, lora.q, a.normed.data(), T, ctx.dropout, dq.data(), a.u_q, dn, pool);
    project_lora_backward(w.k, lora.k, a.normed.data(), T, ctx.dropout, dk.data(), a.u_k, dn, pool);
    project_lora_backward(w.v, lora.v, a.normed.data(), T, ctx.dropout, dv.data(), a.u_v, dn, pool);
  }
  if (dx == nullptr) return;
  TRAIN_PHASE("bwd.norm");
  std::copy(dmid.begin(), dmid.end(), dx);
  rmsnorm_backward(x, w.attn_norm.data(), T, H, eps, dnormed.data(), dx, true, pool);
}

}  // namespace wenxin::train
