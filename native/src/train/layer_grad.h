// One ERNIE 4.5 decoder layer for training: RMSNorm → attention (RoPE, GQA) → residual → RMSNorm →
// dense MLP or MoE → residual, forward with its intermediates kept on request and backward from
// them. The trainer keeps only each layer's input (activation checkpointing) and recomputes the
// rest a layer at a time, unless told to keep everything.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "model/ernie4_5/weights.h"
#include "train/attention_grad.h"
#include "train/ffn_grad.h"
#include "wenxin/hparams.h"

namespace wenxin::train {

struct LayerLora {
  LoraView q, k, v, o;
  FfnLora mlp;  // dense layers
  MoeLora moe;  // MoE layers
};

// What every layer of one batch shares.
struct BatchContext {
  int64_t tokens = 0;
  std::vector<SeqSpan> seqs;
  std::vector<float> cos, sin, neg_sin;  // [tokens, head_dim / 2] per token's position
  DropoutKey dropout;
};

struct LayerActs {
  std::vector<float> normed;   // [T, H] attention input
  std::vector<float> q, k, v;  // after RoPE (q, k)
  std::vector<float> u_q, u_k, u_v, u_o;
  std::vector<float> ctx, lse;  // attention output [T, heads·d] and log-sum-exp [T, heads]
  std::vector<float> mid;       // [T, H] the residual stream after attention
  std::vector<float> ffn_in;    // [T, H] RMSNorm(mid)
  FfnActs mlp;
  MoeActs moe;
};

// Bytes the intermediates hold.
int64_t acts_bytes(const LayerActs& a);

// y = layer(x); `acts` (optional) keeps the intermediates the backward needs.
void layer_forward_train(const model::LayerWeights& w, const Ernie45Hparams& hp, const LayerLora& lora,
                         const BatchContext& ctx, const float* x, float* y, LayerActs* acts, ThreadPool& pool);

// From dy, accumulates the layer's LoRA gradients and writes dx (skipped when dx is null: no
// trainable parameter lies below this layer).
void layer_backward_train(const model::LayerWeights& w, const Ernie45Hparams& hp, const LayerLora& lora,
                          const BatchContext& ctx, const float* x, const LayerActs& acts, const float* dy, float* dx,
                          ThreadPool& pool);

// RMSNorm over rows of `n`, and its backward: dx (+)= ∂/∂x of Σ dy · norm(x).
void rmsnorm_rows(const float* x, const float* w, int64_t rows, int64_t n, float eps, float* y, ThreadPool& pool);
void rmsnorm_backward(const float* x, const float* w, int64_t rows, int64_t n, float eps, const float* dy, float* dx,
                      bool accumulate, ThreadPool& pool);

}  // namespace wenxin::train
