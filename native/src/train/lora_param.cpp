#include "train/lora_param.h"

#include <algorithm>

namespace wenxin::train {

LoraView plain_view(LoraParam* p) {
  LoraView v;
  if (p == nullptr) return v;
  v.a = p->a.data();
  v.b = p->b.data();
  v.grad_a = p->grad_a.data();
  v.grad_b = p->grad_b.data();
  v.rank = p->rank;
  v.scaling = p->scaling;
  v.dropout = p->dropout;
  v.stream = p->stream;
  return v;
}

void gather_expert(LoraParam* p, int64_t e, ExpertLora* out) {
  const int64_t r = p->rank, E = p->experts, cols = E * r;
  out->b.resize(p->out * r);
  out->grad_b.assign(p->out * r, 0.0f);
  for (int64_t o = 0; o < p->out; ++o)
    for (int64_t j = 0; j < r; ++j) out->b[o * r + j] = p->b[o * cols + j * E + e];
  LoraView& v = out->view;
  v.a = p->a.data() + e * r * p->in;
  v.grad_a = p->grad_a.data() + e * r * p->in;
  v.b = out->b.data();
  v.grad_b = out->grad_b.data();
  v.rank = r;
  v.scaling = p->scaling;
  v.dropout = p->dropout;
  v.stream = p->stream * 4096 + static_cast<uint64_t>(e);
}

void scatter_expert_grad(LoraParam* p, int64_t e, const ExpertLora& ex) {
  const int64_t r = p->rank, E = p->experts, cols = E * r;
  for (int64_t o = 0; o < p->out; ++o)
    for (int64_t j = 0; j < r; ++j) p->grad_b[o * cols + j * E + e] += ex.grad_b[o * r + j];
}

}  // namespace wenxin::train
