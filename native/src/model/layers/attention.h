// Causal grouped-query attention with interleaved RoPE over a paged KV cache.
#pragma once

#include <vector>

#include "core/thread_pool.h"
#include "model/batch.h"
#include "model/layers/linear.h"
#include "model/layers/step_scratch.h"

namespace wenxin::model {

struct AttentionShape {
  int64_t layer = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
};

struct AttentionWeights {
  const Linear* q;
  const Linear* k;
  const Linear* v;
  const Linear* o;
};

// Per-step rotary tables: cos/sin for each token's position, [tokens, head_dim / 2].
struct RopeTable {
  std::vector<float> cos, sin;
  void build(const std::vector<int32_t>& positions, int64_t head_dim, float theta);
};

// out[T, hidden] = o_proj(attention(q, k, v)); writes this step's K and V into the caches.
void attention_forward(const AttentionShape& shape, const AttentionWeights& w, const RopeTable& rope,
                       const Batch& batch, const float* x, float* out, StepScratch& scratch, ThreadPool& pool);

}  // namespace wenxin::model
