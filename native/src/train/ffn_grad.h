// SwiGLU feed-forward blocks for training, forward and backward with LoRA: the dense MLP, and the
// MoE block (float32 router frozen; the correction bias only chooses; the renormalised weights of
// the chosen experts pass gradients back to the hidden state through the router's softmax).
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "model/layers/ffn.h"
#include "train/lora_compute.h"
#include "train/lora_param.h"

namespace wenxin::train {

// LoRA on one SwiGLU block: on gate, up and down separately (target_modules), or a fused gate_up
// whose B stacks gate's rows over up's and shares one A (a routed expert of peft's fused parameter).
struct FfnLora {
  LoraView gate, up, down, gate_up;
};

// What the backward of a SwiGLU block keeps from its forward.
struct FfnActs {
  std::vector<float> gate, up;                         // [T, width]: gate(x), up(x) before the activation
  std::vector<float> u_gate, u_up, u_gate_up, u_down;  // LoRA's A·x, [T, rank]
};

// y[T, hidden] = down(silu(gate(x)) · up(x)); fills `acts` for the backward.
void ffn_forward_train(const model::FeedForward& f, const FfnLora& lora, const float* x, int64_t T,
                       const DropoutKey& key, float* y, FfnActs* acts, ThreadPool& pool);
// Accumulates LoRA gradients and, when dx is set, adds the input gradient to it.
void ffn_backward_train(const model::FeedForward& f, const FfnLora& lora, const float* x, int64_t T,
                        const DropoutKey& key, const FfnActs& acts, const float* dy, float* dx, ThreadPool& pool);

// LoRA on an MoE block: the shared experts' projections, and peft's fused routed-expert parameters.
struct MoeLora {
  FfnLora shared;
  LoraParam* experts_gate_up = nullptr;  // A [E·r, hidden], B [2·width, E·r]
  LoraParam* experts_down = nullptr;     // A [E·r, width], B [hidden, E·r]
};

struct MoeActs {
  std::vector<float> probs;     // [T, E] router softmax
  std::vector<int32_t> chosen;  // [T, k]
  std::vector<float> weights;   // [T, k] renormalised mixing weights
  std::vector<float> denom;     // [T] the chosen probabilities' sum, before clamping
  struct Expert {
    std::vector<int32_t> tokens;  // batch rows routed here
    std::vector<int32_t> slot;    // their top-k slot
    std::vector<float> x, y;      // gathered inputs [n, hidden], outputs before weighting [n, hidden]
    FfnActs acts;
  };
  std::vector<Expert> experts;
  FfnActs shared;
};

void moe_forward_train(const model::MoeBlock& m, const model::MoeRouting& routing, const MoeLora& lora, const float* x,
                       int64_t T, int64_t hidden, const DropoutKey& key, float* out, MoeActs* acts, ThreadPool& pool);
void moe_backward_train(const model::MoeBlock& m, const model::MoeRouting& routing, const MoeLora& lora, const float* x,
                        int64_t T, int64_t hidden, const DropoutKey& key, const MoeActs& acts, const float* dout,
                        float* dx, ThreadPool& pool);

}  // namespace wenxin::train
