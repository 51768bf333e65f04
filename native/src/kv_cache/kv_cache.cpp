#include "kv_cache/kv_cache.h"

namespace wenxin::kv {

KvBlockPool::KvBlockPool(KvCacheShape shape, int64_t max_tokens)
    : shape_(shape),
      max_blocks_((max_tokens + shape.block_tokens - 1) / shape.block_tokens),
      block_floats_(2 * shape.layers * shape.block_tokens * shape.kv_dim) {}

int64_t KvBlockPool::free_tokens() const {
  std::lock_guard<std::mutex> lock(mu_);
  return (max_blocks_ - static_cast<int64_t>(blocks_.size()) + static_cast<int64_t>(free_.size())) *
         shape_.block_tokens;
}

int32_t KvBlockPool::allocate() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!free_.empty()) {
    const int32_t b = free_.back();
    free_.pop_back();
    return b;
  }
  if (static_cast<int64_t>(blocks_.size()) >= max_blocks_) return -1;
  blocks_.emplace_back(new float[static_cast<size_t>(block_floats_)]);
  return static_cast<int32_t>(blocks_.size() - 1);
}

void KvBlockPool::release(int32_t block) {
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(block);
}

Status KvSequence::reserve(int64_t length) {
  const int64_t bt = pool_->shape().block_tokens;
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
  length_ = 0;
}

}  // namespace wenxin::kv
