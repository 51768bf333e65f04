#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/thread_affinity.h"

namespace wenxin {

namespace {

constexpr int kSpinRounds = 1 << 16;  // ~50-100 µs of polling before a worker sleeps

bool pinning_enabled() {
  const char* v = std::getenv("WENXIN_PIN_THREADS");
  return v == nullptr || std::strcmp(v, "0") != 0;
}

void pin_to(int index) {
  if (pinning_enabled()) pin_current_thread(index);
}

}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::pin_caller() { pin_to(0); }

void ThreadPool::run_chunk(int index) {
  // Split in grains so chunk edges fall on whole tiles; the last chunk takes the remainder.
  const int64_t grains = (n_ + grain_ - 1) / grain_;
  const int64_t per = (grains + active_ - 1) / active_;
  const int64_t begin = std::min<int64_t>(n_, per * index * grain_);
  const int64_t end = std::min<int64_t>(n_, begin + per * grain_);
  if (begin < end) (*fn_)(begin, end, index);
}

void ThreadPool::run_chunk_guarded(int index) {
  try {
    run_chunk(index);
  } catch (...) {
    std::lock_guard<std::mutex> lock(error_mu_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::parallel_for(int64_t n, const RangeFn& fn, int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t grains = (n + grain - 1) / grain;
  const int active = static_cast<int>(std::min<int64_t>(threads_, grains));
  if (active == 1) {
    fn(0, n, 0);
    return;
  }
  fn_ = &fn;
  n_ = n;
  grain_ = grain;
  active_ = active;
  pending_.store(active - 1, std::memory_order_relaxed);
  generation_.fetch_add(1);  // seq_cst on both sides: a worker going to sleep either sees this or is counted below
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    wake_.notify_all();
  }
  run_chunk_guarded(0);
  while (pending_.load(std::memory_order_acquire) != 0) cpu_relax();
  fn_ = nullptr;
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    std::swap(error, error_);  // std::exception_ptr::swap is libstdc++-only
  }
  if (error) std::rethrow_exception(error);
}

void ThreadPool::worker(int index) {
  pin_to(index);
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinRounds; ++spin) {
      cpu_relax();
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      sleepers_.fetch_sub(1);
      gen = generation_.load();
    }
    seen = gen;
    if (stop_.load()) return;
    if (index < active_) {
      run_chunk_guarded(index);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
}

}  // namespace wenxin
