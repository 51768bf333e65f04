#include "wenxin/system_info.h"

#include "core/cpu_features.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace wenxin {

namespace {

// Wide independent sums: the compiler vectorises this, and the loads, not the adds, set the pace.
#define WENXIN_SUM_BODY                              \
  uint64_t acc[16] = {0};                            \
  for (int64_t i = 0; i + 16 <= n; i += 16)          \
    for (int j = 0; j < 16; ++j) acc[j] += p[i + j]; \
  uint64_t s = 0;                                    \
  for (uint64_t a : acc) s += a;                     \
  return s;

uint64_t sum_range_baseline(const uint64_t* p, int64_t n){WENXIN_SUM_BODY}
// GCC and clang compile one AVX-512 copy for CPUs that have it (the baseline build is x86-64-v1).
#if defined(__x86_64__) && defined(__GNUC__)
#define WENXIN_WIDE_SUM 1
__attribute__((target("avx512f"))) uint64_t sum_range_avx512(const uint64_t* p, int64_t n){WENXIN_SUM_BODY}
#endif

uint64_t sum_range(const uint64_t* p, int64_t n) {
#if defined(WENXIN_WIDE_SUM)
  static const bool wide = cpu_features().avx512f;
  if (wide) return sum_range_avx512(p, n);
#endif
  return sum_range_baseline(p, n);
}

}  // namespace

double measure_read_bandwidth(int64_t bytes, int threads, int repeats) {
  const int64_t words = bytes / 8;
  std::unique_ptr<uint64_t[]> buf(new uint64_t[words]);
  for (int64_t i = 0; i < words; ++i) buf[i] = static_cast<uint64_t>(i);  // touch every page
  threads = std::max(1, threads);
  double best = 0;
  volatile uint64_t sink = 0;
  for (int r = 0; r < repeats; ++r) {
    std::vector<uint64_t> sums(threads);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const int64_t b = words * t / threads, e = words * (t + 1) / threads;
        sums[t] = sum_range(buf.get() + b, e - b);
      });
    for (auto& th : pool) th.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (uint64_t s : sums) sink = sink + s;
    best = std::max(best, static_cast<double>(words * 8) / secs / 1e9);
  }
  return best;
}

}  // namespace wenxin
