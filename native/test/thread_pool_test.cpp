// ThreadPool::parallel_for when chunks throw: the first exception reaches the caller, only after
// every thread has left the loop body, and the pool keeps working. Run by
// test/native/thread_pool.int.test.ts (and under the sanitizers by native/scripts/asan_test.sh).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_pool.h"

namespace {

std::atomic<int> failures{0};
std::atomic<int> checks{0};

void check(bool ok, const std::string& what) {
  ++checks;
  if (!ok) {
    ++failures;
    std::printf("FAIL %s\n", what.c_str());
  }
}

// Runs a loop over `threads` chunks where chunk `thrower` throws after the others have started;
// the others sleep first, so returning early would be visible as unfinished chunks.
void throwing_chunk(wenxin::ThreadPool& pool, int thrower) {
  const int threads = pool.size();
  std::atomic<int> finished{0};
  std::vector<int> stack_data(threads, 7);  // the caller's stack, read by every chunk
  std::string caught;
  try {
    pool.parallel_for(threads, [&](int64_t begin, int64_t, int) {
      if (begin == thrower) throw std::runtime_error("chunk " + std::to_string(thrower));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      check(stack_data[begin] == 7, "a chunk still sees the caller's data");
      finished.fetch_add(1);
    });
  } catch (const std::runtime_error& e) {
    caught = e.what();
  }
  check(caught == "chunk " + std::to_string(thrower),
        "chunk " + std::to_string(thrower) + "'s exception reaches the caller (got '" + caught + "')");
  check(finished.load() == threads - 1, "every other chunk finished before parallel_for returned (" +
                                            std::to_string(finished.load()) + " of " + std::to_string(threads - 1) +
                                            ")");
}

}  // namespace

int main() {
  for (int threads : {1, 2, 4}) {
    wenxin::ThreadPool pool(threads);
    for (int thrower = 0; thrower < threads; ++thrower) throwing_chunk(pool, thrower);

    // Every chunk throws: exactly one exception comes back.
    int caught = 0;
    try {
      pool.parallel_for(threads, [](int64_t, int64_t, int) { throw std::logic_error("all"); });
    } catch (const std::logic_error&) {
      ++caught;
    }
    check(caught == 1, "one exception when every chunk throws");

    // The pool still runs loops afterwards, and a clean loop raises nothing left over.
    std::atomic<int64_t> sum{0};
    pool.parallel_for(1000, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) sum.fetch_add(i);
    });
    check(sum.load() == 999 * 1000 / 2, "a later loop runs every index once");
  }
  std::printf("%d passed, %d failed\n", checks.load() - failures.load(), failures.load());
  return failures == 0 ? 0 : 1;
}
