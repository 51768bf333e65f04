// The KV cache's memory: fixed-size blocks under one explicit budget, shared by reference count.
// Full blocks can be published under the hash of the token prefix they hold; when the last user
// releases a published block it stays cached (least recently used first to go) so a later request
// with the same prefix reuses it instead of recomputing. Used by the engine thread only.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/aligned_vector.h"
#include "kv_cache/kv_layout.h"

namespace wenxin::kv {

// What identifies a block's contents: the whole token prefix up to its end, and the adapter.
struct BlockKey {
  uint64_t hash = 0;     // chained over every token from position 0 to the block's end
  int32_t parent = -1;   // the block before it in the sequence, -1 for the first
  int32_t adapter = -1;  // LoRA adapters change K and V
};

uint64_t chain_block_hash(uint64_t parent_hash, int32_t adapter, const int32_t* tokens, int64_t count);

class KvBlockPool {
 public:
  KvBlockPool(KvCacheShape shape, int64_t max_tokens, bool prefix_caching);

  const KvCacheShape& shape() const { return shape_; }
  bool prefix_caching() const { return prefix_caching_; }
  int64_t total_blocks() const { return max_blocks_; }
  int64_t capacity_tokens() const { return max_blocks_ * shape_.block_tokens; }
  // Blocks held by at least one sequence.
  int64_t used_blocks() const { return used_.load(std::memory_order_relaxed); }
  // Unreferenced blocks that keep a published prefix (reclaimable).
  int64_t cached_blocks() const { return cached_.load(std::memory_order_relaxed); }
  // Blocks an allocation can still get: never used, free, or cached.
  int64_t available_blocks() const { return max_blocks_ - used_blocks(); }

  // A block with reference count 1 (evicting the least recently used cached block if needed),
  // or -1 when every block is in use.
  int32_t allocate();
  void retain(int32_t block);
  void release(int32_t block);
  uint8_t* block_data(int32_t block) const { return blocks_[block].get(); }

  // The published block holding `tokens` (block_tokens of them) after `key.parent`, retained for the
  // caller, or -1.
  int32_t lookup(const BlockKey& key, const int32_t* tokens);
  // Publishes a full block the caller holds. Returns the block the caller should keep: `block`, or an
  // already published block with the same contents (then `block` is released and that one retained).
  int32_t publish(int32_t block, const BlockKey& key, const int32_t* tokens);
  // Forgets every published block computed with `adapter` (reloaded or unloaded: its K/V are stale).
  // Cached ones are freed; ones still in use stay with their sequences but are found no more.
  void forget_adapter(int32_t adapter);

 private:
  struct Meta {
    int32_t refs = 0;
    bool published = false;
    BlockKey key;
    std::vector<int32_t> tokens;
    std::list<int32_t>::iterator lru;  // valid while cached (published and unreferenced)
  };
  void unpublish(int32_t block);

  KvCacheShape shape_;
  int64_t max_blocks_;
  bool prefix_caching_;
  // Allocated on first use, on cache lines: the attention kernels read every position's rows whole.
  struct CacheLineDelete {
    void operator()(uint8_t* p) const { ::operator delete[](p, std::align_val_t{kCacheLine}); }
  };
  std::vector<std::unique_ptr<uint8_t[], CacheLineDelete>> blocks_;
  std::vector<Meta> meta_;
  std::vector<int32_t> free_;
  std::list<int32_t> lru_;  // cached blocks, least recently used first
  std::unordered_multimap<uint64_t, int32_t> index_;
  std::atomic<int64_t> used_{0}, cached_{0};
};

}  // namespace wenxin::kv
