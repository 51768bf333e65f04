#include "kv_cache/kv_cache.h"

namespace wenxin::kv {

Status KvSequence::reserve(int64_t length) {
  const int64_t bt = shape().block_tokens;
  const int64_t need = (length + bt - 1) / bt;
  while (static_cast<int64_t>(blocks_.size()) < need) {
    const int32_t b = pool_->allocate();
    if (b < 0)
      return Status(ErrorCode::kKvCacheFull, "the KV cache budget of " + std::to_string(pool_->capacity_tokens()) +
                                                 " tokens is spent; " + std::to_string(length) +
                                                 " positions were needed for this sequence");
    blocks_.push_back(b);
  }
  return Status::ok();
}

void KvSequence::clear() {
  for (int32_t b : blocks_) pool_->release(b);
  blocks_.clear();
  hashes_.clear();
  length_ = 0;
}

int64_t KvSequence::attach_prefix(const int32_t* tokens, int64_t count, int32_t adapter) {
  if (!pool_->prefix_caching() || !blocks_.empty()) return 0;
  const int64_t bt = shape().block_tokens;
  uint64_t hash = 0;
  for (int64_t b = 0; (b + 1) * bt < count; ++b) {  // strictly less: the last token is always computed
    hash = chain_block_hash(hash, adapter, tokens + b * bt, bt);
    const BlockKey key{hash, blocks_.empty() ? -1 : blocks_.back(), adapter};
    const int32_t block = pool_->lookup(key, tokens + b * bt);
    if (block < 0) break;
    blocks_.push_back(block);
    hashes_.push_back(hash);
  }
  length_ = static_cast<int64_t>(blocks_.size()) * bt;
  return length_;
}

void KvSequence::commit(const int32_t* tokens, int64_t length, int32_t adapter) {
  length_ = length;
  if (!pool_->prefix_caching()) return;
  const int64_t bt = shape().block_tokens;
  for (int64_t b = static_cast<int64_t>(hashes_.size()); (b + 1) * bt <= length_; ++b) {
    const uint64_t hash = chain_block_hash(b == 0 ? 0 : hashes_.back(), adapter, tokens + b * bt, bt);
    const BlockKey key{hash, b == 0 ? -1 : blocks_[b - 1], adapter};
    blocks_[b] = pool_->publish(blocks_[b], key, tokens + b * bt);
    hashes_.push_back(hash);
  }
}

void KvSequence::store(int64_t layer, int64_t pos, const float* key, const float* value) {
  const KvCacheShape& s = shape();
  uint8_t* block = data(pos / s.block_tokens);
  const int64_t slot = pos % s.block_tokens;
  float* k_scales = s.has_scales() ? reinterpret_cast<float*>(block + s.scale_offset(0, layer, slot)) : nullptr;
  float* v_scales = s.has_scales() ? reinterpret_cast<float*>(block + s.scale_offset(1, layer, slot)) : nullptr;
  store_kv_row(s, key, block + s.data_offset(0, layer, slot), k_scales);
  store_kv_row(s, value, block + s.data_offset(1, layer, slot), v_scales);
}

}  // namespace wenxin::kv
