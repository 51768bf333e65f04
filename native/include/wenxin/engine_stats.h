// What the engine reports about its load: queue, KV cache use, prefix cache hits, throughput,
// and the cost of constrained decoding. A snapshot, taken once per engine step.
#pragma once

#include <cstdint>

#include "wenxin/engine_options.h"

namespace wenxin {

struct EngineStats {
  int64_t waiting = 0;
  int64_t running = 0;
  int64_t paused = 0;  // not read by their consumers: no slot, no KV blocks until resumed
  int64_t kv_blocks_total = 0;
  int64_t kv_blocks_used = 0;    // held by live sequences
  int64_t kv_blocks_cached = 0;  // unreferenced, keeping a published prefix (reclaimable)
  int64_t kv_block_tokens = 0;
  int64_t kv_bytes_per_token = 0;
  KvPrecision kv_precision = KvPrecision::kF32;
  int64_t prefix_cache_hit_tokens = 0;
  int64_t prompt_tokens = 0;  // prompt positions computed (prefix hits excluded)
  int64_t generated_tokens = 0;
  int64_t steps = 0;
  int64_t preemptions = 0;
  double last_step_ms = 0;
  double mean_step_ms = 0;       // exponential moving average over steps
  double tokens_per_second = 0;  // generated tokens over the last few seconds
  // Constrained decoding, summed over finished constrained requests: tokens masked, and the time
  // spent masking logits and advancing the matcher.
  int64_t constrained_requests = 0;
  int64_t constrained_tokens = 0;
  double constraint_mask_ms = 0;
  double constraint_advance_ms = 0;
  // Steps that computed only background work (requests once paused because their consumers fell
  // behind), their time, and the time the engine rested after them (at least as long, unless new
  // work arrived meanwhile).
  int64_t background_steps = 0;
  double background_step_ms = 0;
  double background_rest_ms = 0;
};

}  // namespace wenxin
