// A fixed pool of worker threads that runs one data-parallel loop at a time.
// The calling thread takes part, so `threads = 1` runs everything inline.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace wenxin {

class ThreadPool {
 public:
  // fn(begin, end, thread_index) handles the half-open range [begin, end).
  using RangeFn = std::function<void(int64_t, int64_t, int)>;

  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return threads_; }

  // Splits [0, n) into contiguous chunks, one per thread, and waits for all of them.
  // `min_chunk` keeps tiny loops on one thread, where waking others costs more than it saves.
  void parallel_for(int64_t n, const RangeFn& fn, int64_t min_chunk = 1);

 private:
  void worker(int index);
  void run_chunk(int index);

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  uint64_t generation_ = 0;
  bool stop_ = false;
  const RangeFn* fn_ = nullptr;
  int64_t n_ = 0;
  int active_ = 0;
  std::atomic<int> pending_{0};
};

}  // namespace wenxin
