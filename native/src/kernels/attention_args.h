// Arguments of the attention kernel: one query token's group of heads that share a KV head,
// against positions [begin, end) of a paged KV cache.
#pragma once

#include <cstdint>

namespace wenxin::kernels {

struct AttentionArgs {
  const float* q = nullptr;  // [heads][d], already rotated
  int64_t heads = 0;         // query heads sharing this KV head (GQA group)
  int64_t d = 0;             // head dim
  float scale = 1.0f;        // 1 / sqrt(d)
  // Per cache block: the first position's key (value) for this KV head, in the cache's element type.
  const void* const* k_blocks = nullptr;
  const void* const* v_blocks = nullptr;
  int64_t block_tokens = 0;    // positions per cache block
  int64_t pos_stride = 0;      // elements between consecutive positions inside a block
  int64_t begin = 0, end = 0;  // positions attended
  // Element type: 0 f32, 1 bf16, 2 int8 with one scale per head and position (widened per tile).
  int32_t kv_type = 0;
  const float* const* k_scales = nullptr;  // int8: per block, this head's scale of the first position
  const float* const* v_scales = nullptr;
  int64_t scale_stride = 0;  // floats between consecutive positions' scales
};

// Online-softmax results for a range of positions: unnormalised output o[heads][d], running max
// m[heads] and sum l[heads]. Ranges computed apart (split-KV) merge exactly.
struct AttentionPartial {
  float* o;
  float* m;
  float* l;
};

}  // namespace wenxin::kernels
