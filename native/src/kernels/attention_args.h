// Arguments of the attention kernel: the group of query heads that share a KV head, for one query
// token or a run of consecutive query tokens of one sequence (prefill), against positions
// [begin, end) of a paged KV cache.
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
  // A run of `queries` consecutive tokens of one sequence: token i's q rows start at q + i * q_stride,
  // it sits at position q_pos + i and attends [begin, min(end, q_pos + i + 1)) (causal). The defaults
  // are one token that attends all of [begin, end).
  int64_t queries = 1;
  int64_t q_stride = 0;
  int64_t q_pos = INT64_MAX / 2;
  // Nonzero: calls with the same value read a cache that holds the same values at every position they
  // share (a prefill step's runs of one sequence and KV head), so a kernel may keep what it derived
  // from one call's positions for the next on the same thread.
  uint64_t reuse = 0;
};

// Online-softmax results for a range of positions: unnormalised output o[queries][heads][d], running
// max m[queries][heads] and sum l[queries][heads] (a token that sees no position: o = 0, m = -inf,
// l = 0). Ranges computed apart (split-KV) merge exactly. A call that covers every position its queries
// see can ask for the attention's output itself instead (`normalised`: o / l, zero where l is zero),
// written straight into the layer's context rows (`o_stride`).
struct AttentionPartial {
  float* o;
  float* m;
  float* l;
  int64_t o_stride = 0;  // floats from one query's o rows to the next's (0: heads · d, packed)
  bool normalised = false;

  // Row r (query r / heads, head r % heads) of o.
  float* row(int64_t r, int64_t heads, int64_t d) const {
    return o + (r / heads) * (o_stride != 0 ? o_stride : heads * d) + (r % heads) * d;
  }
};

}  // namespace wenxin::kernels
