// A fixed pool of worker threads that runs one data-parallel loop at a time.
// The calling thread takes part, so `threads = 1` runs everything inline. Workers spin briefly
// between loops (a decode step runs hundreds of short loops; waking a sleeping thread costs more
// than the work), then sleep. Threads are pinned to CPUs unless WENXIN_PIN_THREADS=0.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
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

  // Splits [0, n) into contiguous chunks, `chunks_per_thread` per thread, and waits for all of them.
  // Every thread, the caller included, claims the next unclaimed chunk until none is left, so a thread
  // that starts late (descheduled on a busy machine) leaves its share to the others instead of
  // holding up the loop; `fn` may run several times on one thread. Chunk boundaries fall on
  // multiples of `grain` (whole register tiles), and loops too small to give every chunk a grain
  // run in fewer chunks. When chunks throw, the first exception is rethrown here once every chunk
  // has finished (a worker never terminates the process, and the caller's stack, which `fn` may
  // use, outlives the loop).
  void parallel_for(int64_t n, const RangeFn& fn, int64_t grain = 1, int chunks_per_thread = 1);

  // Pins the calling thread (the engine's driver thread) like the workers.
  void pin_caller();

 private:
  void worker(int index);
  void run_chunk(int64_t chunk, int index);
  // Runs one chunk, keeping the first exception of the loop in error_.
  void run_chunk_guarded(int64_t chunk, int index);
  // Runs unclaimed chunks of the current loop until none is left.
  void claim_chunks(int index);

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  // The current loop's tag, chunk count and next chunk (see claim_chunks); chunks counted when done.
  std::atomic<uint64_t> claim_{0};
  std::atomic<int64_t> done_{0};
  uint64_t tag_ = 0;
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  const RangeFn* fn_ = nullptr;
  int64_t n_ = 0;
  int64_t grain_ = 1;
  int64_t chunks_ = 1;
  std::mutex error_mu_;
  std::exception_ptr error_;  // the first exception of the current loop
};

}  // namespace wenxin
