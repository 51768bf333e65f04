// Trainable LoRA matrices with their gradients and AdamW moments, kept in PEFT's own layout so an
// adapter saves and loads without reshuffling: A [experts·rank, in], B [out, experts·rank]. A plain
// linear has one expert. A fused MoE parameter (peft's `target_parameters`) gives routed expert e
// the rows e·rank .. e·rank + rank of A and the columns j·experts + e (j < rank) of B.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wenxin::train {

struct LoraParam {
  std::string name;  // PEFT's module path: "model.layers.0.self_attn.q_proj", "model.layers.1.mlp.experts.down_proj"
  int64_t rank = 0, in = 0, out = 0, experts = 1;
  float scaling = 1.0f;
  float dropout = 0.0f;
  uint64_t stream = 0;  // this parameter's dropout stream (a stable index)
  std::vector<float> a, b;
  std::vector<float> grad_a, grad_b;
  std::vector<float> m_a, v_a, m_b, v_b;  // AdamW first and second moments

  int64_t a_size() const { return experts * rank * in; }
  int64_t b_size() const { return out * experts * rank; }
};

// One expert's (or a plain linear's) LoRA as the layer code uses it: A [rank, in] and B [out, rank],
// both contiguous, with gradient buffers of the same shapes.
struct LoraView {
  const float* a = nullptr;
  const float* b = nullptr;
  float* grad_a = nullptr;
  float* grad_b = nullptr;
  int64_t rank = 0;
  float scaling = 1.0f;
  float dropout = 0.0f;
  uint64_t stream = 0;  // dropout stream: the parameter's, mixed with the expert
  bool active() const { return rank > 0; }
};

// The view of a plain linear's LoRA (experts == 1); inactive when `p` is null.
LoraView plain_view(LoraParam* p);

// Expert `e` of a fused parameter: A is a slice in place; B's strided columns are gathered into
// `b` and their gradient accumulates in `grad_b` until scatter_expert_grad adds it back.
struct ExpertLora {
  std::vector<float> b, grad_b;
  LoraView view;
};
void gather_expert(LoraParam* p, int64_t e, ExpertLora* out);
void scatter_expert_grad(LoraParam* p, int64_t e, const ExpertLora& ex);

}  // namespace wenxin::train
