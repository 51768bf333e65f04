// Causal grouped-query attention over whole sequences, for training: the forward keeps only the
// output and each row's log-sum-exp; the backward recomputes the probabilities from them
// (FlashAttention's scheme) a block of 64 queries at a time, so memory stays O(block · length).
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"

namespace wenxin::train {

struct AttentionDims {
  int64_t heads = 0, kv_heads = 0, head_dim = 0;
};

// A sequence's tokens in the batch: rows [start, start + len), positions 0 .. len - 1.
struct SeqSpan {
  int64_t start = 0, len = 0;
};

// q [T, heads·d] and k, v [T, kv_heads·d] (rotated) → ctx [T, heads·d] and lse [T, heads].
void attention_forward_train(const AttentionDims& dims, const std::vector<SeqSpan>& seqs, const float* q,
                             const float* k, const float* v, float* ctx, float* lse, ThreadPool& pool);

// From dctx, writes dq [T, heads·d], dk and dv [T, kv_heads·d].
void attention_backward_train(const AttentionDims& dims, const std::vector<SeqSpan>& seqs, const float* q,
                              const float* k, const float* v, const float* ctx, const float* lse, const float* dctx,
                              float* dq, float* dk, float* dv, ThreadPool& pool);

}  // namespace wenxin::train
