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

// The claim word: the loop's tag (32 bits), its chunk count (16) and the next unclaimed chunk (16).
constexpr uint64_t pack(uint64_t tag, uint64_t chunks, uint64_t next) { return tag << 32 | chunks << 16 | next; }
constexpr int64_t chunks_of(uint64_t word) { return static_cast<int64_t>(word >> 16 & 0xFFFF); }
constexpr int64_t next_of(uint64_t word) { return static_cast<int64_t>(word & 0xFFFF); }

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

void ThreadPool::run_chunk(int64_t chunk, int index) {
  // Split in grains so chunk edges fall on whole tiles; the last chunk takes the remainder.
  const int64_t grains = (n_ + grain_ - 1) / grain_;
  const int64_t per = (grains + chunks_ - 1) / chunks_;
  const int64_t begin = std::min<int64_t>(n_, per * chunk * grain_);
  const int64_t end = std::min<int64_t>(n_, begin + per * grain_);
  if (begin < end) (*fn_)(begin, end, index);
}

void ThreadPool::run_chunk_guarded(int64_t chunk, int index) {
  try {
    run_chunk(chunk, index);
  } catch (...) {
    std::lock_guard<std::mutex> lock(error_mu_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::claim_chunks(int index) {
  uint64_t word = claim_.load(std::memory_order_acquire);
  while (next_of(word) < chunks_of(word)) {
    if (!claim_.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    // Claimed chunk next_of(word) of the loop tagged in `word`: that loop cannot end before this
    // chunk is counted done, so its parameters stay as published.
    run_chunk_guarded(next_of(word), index);
    done_.fetch_add(1, std::memory_order_acq_rel);
    word = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::parallel_for(int64_t n, const RangeFn& fn, int64_t grain, int chunks_per_thread) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t grains = (n + grain - 1) / grain;
  const int64_t chunks =
      std::min<int64_t>({grains, static_cast<int64_t>(threads_) * std::max(1, chunks_per_thread), 0xFFFF});
  if (threads_ == 1 || chunks == 1) {
    fn(0, n, 0);
    return;
  }
  fn_ = &fn;
  n_ = n;
  grain_ = grain;
  chunks_ = chunks;
  done_.store(0, std::memory_order_relaxed);
  claim_.store(pack(++tag_ & 0xFFFFFFFFu, static_cast<uint64_t>(chunks), 0), std::memory_order_release);
  generation_.fetch_add(1);  // seq_cst on both sides: a worker going to sleep either sees this or is counted below
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    wake_.notify_all();
  }
  // The caller claims chunks like the workers, so a worker that is late (descheduled on a busy
  // machine) costs at most the chunk it holds, not a wait for it to start.
  claim_chunks(0);
  while (done_.load(std::memory_order_acquire) != chunks) cpu_relax();
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
    claim_chunks(index);
  }
}

}  // namespace wenxin
