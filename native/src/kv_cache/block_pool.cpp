#include "kv_cache/block_pool.h"

#include <algorithm>

namespace wenxin::kv {

uint64_t chain_block_hash(uint64_t parent_hash, int32_t adapter, const int32_t* tokens, int64_t count) {
  // FNV-1a over the parent's hash, the adapter and the tokens, then a final avalanche (splitmix64).
  uint64_t h = 1469598103934665603ull ^ parent_hash;
  auto mix = [&h](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xFF;
      h *= 1099511628211ull;
    }
  };
  mix(static_cast<uint64_t>(static_cast<uint32_t>(adapter)));
  for (int64_t i = 0; i < count; ++i) mix(static_cast<uint32_t>(tokens[i]));
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

KvBlockPool::KvBlockPool(KvCacheShape shape, int64_t max_tokens, bool prefix_caching)
    : shape_(shape),
      max_blocks_(std::max<int64_t>(1, (max_tokens + shape.block_tokens - 1) / shape.block_tokens)),
      prefix_caching_(prefix_caching) {}

int32_t KvBlockPool::allocate() {
  int32_t b = -1;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else if (static_cast<int64_t>(blocks_.size()) < max_blocks_) {
    blocks_.emplace_back(new (std::align_val_t{kCacheLine}) uint8_t[static_cast<size_t>(shape_.block_bytes())]);
    meta_.emplace_back();
    b = static_cast<int32_t>(blocks_.size() - 1);
  } else if (!lru_.empty()) {
    b = lru_.front();  // the least recently used cached prefix makes room
    unpublish(b);
  } else {
    return -1;
  }
  meta_[b].refs = 1;
  used_.fetch_add(1, std::memory_order_relaxed);
  return b;
}

void KvBlockPool::retain(int32_t block) {
  Meta& m = meta_[block];
  if (m.refs == 0) {  // a cached block comes back into use
    lru_.erase(m.lru);
    cached_.fetch_sub(1, std::memory_order_relaxed);
    used_.fetch_add(1, std::memory_order_relaxed);
  }
  m.refs++;
}

void KvBlockPool::release(int32_t block) {
  Meta& m = meta_[block];
  if (--m.refs > 0) return;
  used_.fetch_sub(1, std::memory_order_relaxed);
  if (m.published) {
    m.lru = lru_.insert(lru_.end(), block);
    cached_.fetch_add(1, std::memory_order_relaxed);
  } else {
    free_.push_back(block);
  }
}

void KvBlockPool::unpublish(int32_t block) {
  Meta& m = meta_[block];
  auto range = index_.equal_range(m.key.hash);
  for (auto it = range.first; it != range.second; ++it)
    if (it->second == block) {
      index_.erase(it);
      break;
    }
  if (m.refs == 0) {
    lru_.erase(m.lru);
    cached_.fetch_sub(1, std::memory_order_relaxed);
  }
  m.published = false;
  m.tokens.clear();
}

int32_t KvBlockPool::lookup(const BlockKey& key, const int32_t* tokens) {
  if (!prefix_caching_) return -1;
  auto range = index_.equal_range(key.hash);
  for (auto it = range.first; it != range.second; ++it) {
    const Meta& m = meta_[it->second];
    if (m.key.parent == key.parent && m.key.adapter == key.adapter &&
        std::equal(m.tokens.begin(), m.tokens.end(), tokens)) {
      const int32_t b = it->second;
      retain(b);
      return b;
    }
  }
  return -1;
}

int32_t KvBlockPool::publish(int32_t block, const BlockKey& key, const int32_t* tokens) {
  if (!prefix_caching_ || meta_[block].published) return block;
  auto range = index_.equal_range(key.hash);
  for (auto it = range.first; it != range.second; ++it) {
    const Meta& m = meta_[it->second];
    if (m.key.parent == key.parent && m.key.adapter == key.adapter &&
        std::equal(m.tokens.begin(), m.tokens.end(), tokens)) {
      const int32_t existing = it->second;  // computed by another sequence meanwhile: share it
      retain(existing);
      release(block);
      return existing;
    }
  }
  Meta& m = meta_[block];
  m.published = true;
  m.key = key;
  m.tokens.assign(tokens, tokens + shape_.block_tokens);
  index_.emplace(key.hash, block);
  return block;
}

void KvBlockPool::forget_adapter(int32_t adapter) {
  for (int32_t b = 0; b < static_cast<int32_t>(meta_.size()); ++b) {
    Meta& m = meta_[b];
    if (!m.published || m.key.adapter != adapter) continue;
    const bool cached = m.refs == 0;
    unpublish(b);
    if (cached) free_.push_back(b);
  }
}

}  // namespace wenxin::kv
