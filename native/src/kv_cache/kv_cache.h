// The KV cache: fixed-size blocks of token slots from one pool with an explicit budget.
// A sequence owns a list of blocks (its block table), so sequences of any length share one
// pool without fragmentation and a finished sequence returns its blocks at once.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "wenxin/status.h"

namespace wenxin::kv {

struct KvCacheShape {
  int64_t layers = 0;
  int64_t kv_dim = 0;           // kv heads × head_dim
  int64_t block_tokens = 32;    // token slots per block
};

class KvBlockPool {
 public:
  KvBlockPool(KvCacheShape shape, int64_t max_tokens);

  const KvCacheShape& shape() const { return shape_; }
  int64_t capacity_tokens() const { return max_blocks_ * shape_.block_tokens; }
  int64_t free_tokens() const;

  // Returns a block index, or -1 when the budget is spent.
  int32_t allocate();
  void release(int32_t block);
  float* block_data(int32_t block) const { return blocks_[block].get(); }

 private:
  KvCacheShape shape_;
  int64_t max_blocks_;
  int64_t block_floats_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<float[]>> blocks_;  // allocated on first use
  std::vector<int32_t> free_;
};

// One sequence's view of the cache. Block layout: [K | V][layer][slot][kv_dim], float32.
class KvSequence {
 public:
  explicit KvSequence(KvBlockPool* pool) : pool_(pool) {}
  ~KvSequence() { clear(); }
  KvSequence(const KvSequence&) = delete;
  KvSequence& operator=(const KvSequence&) = delete;

  // Makes room for positions [0, length); fails with KV_CACHE_FULL when the pool is spent.
  Status reserve(int64_t length);
  void clear();

  // Number of positions already written and valid for attention.
  int64_t length() const { return length_; }
  void set_length(int64_t length) { length_ = length; }

  float* key(int64_t layer, int64_t pos) { return slot(0, layer, pos); }
  float* value(int64_t layer, int64_t pos) { return slot(1, layer, pos); }
  // The first slot of block `b` for `layer`: positions b·block_tokens… follow at kv_dim strides.
  const float* key_block(int64_t layer, int64_t b) const { return block_slot(0, layer, b); }
  const float* value_block(int64_t layer, int64_t b) const { return block_slot(1, layer, b); }
  const KvCacheShape& shape() const { return pool_->shape(); }

 private:
  float* slot(int kv, int64_t layer, int64_t pos) {
    const KvCacheShape& s = pool_->shape();
    float* block = pool_->block_data(blocks_[pos / s.block_tokens]);
    return block + ((kv * s.layers + layer) * s.block_tokens + pos % s.block_tokens) * s.kv_dim;
  }

  const float* block_slot(int kv, int64_t layer, int64_t b) const {
    const KvCacheShape& s = pool_->shape();
    return pool_->block_data(blocks_[b]) + (kv * s.layers + layer) * s.block_tokens * s.kv_dim;
  }

  KvBlockPool* pool_;
  std::vector<int32_t> blocks_;
  int64_t length_ = 0;
};

}  // namespace wenxin::kv
