// Per-step timings and throughput for EngineStats (wenxin/engine_stats.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>

#include "wenxin/engine_stats.h"

namespace wenxin::runtime {

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
