// What the engine reports about its load: queue, KV cache use, prefix cache hits, throughput.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>

namespace wenxin::runtime {

struct EngineStats {
  int64_t waiting = 0;
  int64_t running = 0;
  int64_t kv_blocks_total = 0;
  int64_t kv_blocks_used = 0;    // held by live sequences
  int64_t kv_blocks_cached = 0;  // unreferenced, keeping a published prefix (reclaimable)
  int64_t kv_block_tokens = 0;
  int64_t kv_bytes_per_token = 0;
  int32_t kv_precision = 0;  // kv::KvPrecision
  int64_t prefix_cache_hit_tokens = 0;
  int64_t prompt_tokens = 0;  // prompt positions computed (prefix hits excluded)
  int64_t generated_tokens = 0;
  int64_t steps = 0;
  int64_t preemptions = 0;
  double last_step_ms = 0;
  double mean_step_ms = 0;       // exponential moving average over steps
  double tokens_per_second = 0;  // generated tokens over the last few seconds
};

// Per-step timings and a sliding window of generated tokens, for tokens per second.
class StepMeter {
 public:
  using Clock = std::chrono::steady_clock;

  void record(double step_ms, int64_t generated, int64_t prompt) {
    last_ms_ = step_ms;
    mean_ms_ = steps_ == 0 ? step_ms : 0.9 * mean_ms_ + 0.1 * step_ms;
    ++steps_;
    generated_ += generated;
    prompt_ += prompt;
    const auto now = Clock::now();
    window_.push_back({now, generated});
    trim(now);
  }

  void fill(EngineStats* s) {
    const auto now = Clock::now();
    trim(now);
    int64_t recent = 0;
    for (const auto& w : window_) recent += w.tokens;
    s->tokens_per_second = static_cast<double>(recent) / kWindowSeconds;
    s->last_step_ms = last_ms_;
    s->mean_step_ms = mean_ms_;
    s->steps = steps_;
    s->generated_tokens = generated_;
    s->prompt_tokens = prompt_;
  }

 private:
  static constexpr double kWindowSeconds = 5.0;
  struct Entry {
    Clock::time_point at;
    int64_t tokens;
  };
  void trim(Clock::time_point now) {
    while (!window_.empty() && std::chrono::duration<double>(now - window_.front().at).count() > kWindowSeconds)
      window_.pop_front();
  }

  double last_ms_ = 0, mean_ms_ = 0;
  int64_t steps_ = 0, generated_ = 0, prompt_ = 0;
  std::deque<Entry> window_;
};

}  // namespace wenxin::runtime
