// One sequence's view of the KV cache: its block table over the shared pool. Leading full blocks
// may be shared with other sequences (prefix caching); they are never written again, since a
// sequence only writes positions at or after its length, which lie in blocks of its own.
#pragma once

#include <cstdint>
#include <vector>

#include "kv_cache/block_pool.h"
#include "wenxin/status.h"

namespace wenxin::kv {

class KvSequence {
 public:
  explicit KvSequence(KvBlockPool* pool) : pool_(pool) {}
  ~KvSequence() { clear(); }
  KvSequence(const KvSequence&) = delete;
  KvSequence& operator=(const KvSequence&) = delete;

  // Makes room for positions [0, length); fails with KV_CACHE_FULL when the pool is spent.
  Status reserve(int64_t length);
  // Returns every block to the pool.
  void clear();
  int64_t blocks() const { return static_cast<int64_t>(blocks_.size()); }

  // Reuses published blocks that hold a prefix of `tokens`, leaving at least the last token to
  // compute. Call on an empty sequence; returns the positions now cached (a multiple of block_tokens).
  int64_t attach_prefix(const int32_t* tokens, int64_t count, int32_t adapter);

  // Number of positions already written and valid for attention.
  int64_t length() const { return length_; }
  // Marks positions [0, length) written (tokens[0, length) are what they hold) and publishes any
  // block that became full, so later requests with the same prefix can reuse it.
  void commit(const int32_t* tokens, int64_t length, int32_t adapter);
  void set_length(int64_t length) { length_ = length; }

  // Writes position `pos` of `layer` (kv_dim floats each), converting to the cache's precision.
  void store(int64_t layer, int64_t pos, const float* key, const float* value);

  // The first position of block `b` for `layer`: positions follow at shape().position_bytes() strides.
  const uint8_t* key_block(int64_t layer, int64_t b) const { return data(b) + shape().data_offset(0, layer, 0); }
  const uint8_t* value_block(int64_t layer, int64_t b) const { return data(b) + shape().data_offset(1, layer, 0); }
  // int8 only: the per-head scales of block `b`, kv_heads floats per position.
  const float* key_scales(int64_t layer, int64_t b) const { return scales(b, 0, layer); }
  const float* value_scales(int64_t layer, int64_t b) const { return scales(b, 1, layer); }
  const KvCacheShape& shape() const { return pool_->shape(); }

 private:
  uint8_t* data(int64_t b) const { return pool_->block_data(blocks_[b]); }
  const float* scales(int64_t b, int kv, int64_t layer) const {
    return reinterpret_cast<const float*>(data(b) + shape().scale_offset(kv, layer, 0));
  }

  KvBlockPool* pool_;
  std::vector<int32_t> blocks_;
  std::vector<uint64_t> hashes_;  // prefix hash of each leading published block
  int64_t length_ = 0;
};

}  // namespace wenxin::kv
