// SwiGLU feed-forward blocks: the dense MLP, and the MoE block (float32 router with a
// selection-only correction bias, renormalised top-k weights, shared experts).
#pragma once

#include <vector>

#include "core/thread_pool.h"
#include "model/layers/linear.h"
#include "model/layers/step_scratch.h"

namespace wenxin::model {

struct FeedForward {  // SwiGLU: down(silu(gate(x)) * up(x))
  Linear gate, up, down;
};

struct MoeBlock {
  std::vector<float> router;      // [E, H] float32, as the reference computes the router
  std::vector<float> score_bias;  // [E] selection-only correction bias (zeros when absent)
  std::vector<FeedForward> experts;
  bool has_shared = false;
  FeedForward shared;  // the shared experts form one MLP of width moe_intermediate × n_shared
};

// out[T, H] = down(silu(gate(x)) * up(x)).
// `adapters`: per token LoRA adapter ids (nullptr: none).
void ffn_forward(const FeedForward& f, const float* x, int64_t tokens, float* out, StepScratch& scratch,
                 ThreadPool& pool, const int32_t* adapters = nullptr);

struct MoeRouting {
  int64_t top_k = 0;
  double norm_min = 1e-12;
};

// out[T, H] = sum over the k chosen experts of w_e * expert_e(x) + shared(x).
// `router_logits` (optional, [T, E]) receives the raw router logits before softmax.
void moe_forward(const MoeBlock& m, const MoeRouting& routing, const float* x, int64_t tokens, int64_t hidden,
                 float* out, std::vector<float>* router_logits, StepScratch& scratch, ThreadPool& pool,
                 const int32_t* adapters = nullptr);

}  // namespace wenxin::model
