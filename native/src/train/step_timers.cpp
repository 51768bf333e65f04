#include "train/step_timers.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#if !defined(_WIN32)
#include <time.h>
#endif

namespace wenxin::train {

namespace {

std::atomic<int> g_steps{0};

struct Table {
  std::mutex mu;
  std::map<std::string, double> seconds;
  ~Table() {
    std::fprintf(stderr, "train phases over %d steps after the first:\n", g_steps.load() - 1);
    for (const auto& [name, s] : seconds) std::fprintf(stderr, "  %-28s %9.3f s\n", name.c_str(), s);
  }
};

Table& table() {
  static Table t;
  return t;
}

}  // namespace

bool step_timers_on() {
  static const bool on = [] {
    const char* v = std::getenv("WENXIN_TRAIN_TIMERS");
    return v != nullptr && std::strcmp(v, "0") != 0;
  }();
  return on;
}

double step_timer_now(bool cpu) {
#if !defined(_WIN32)
  if (cpu) {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
#endif
  (void)cpu;
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void step_timer_add(const char* name, double seconds) {
  if (g_steps.load(std::memory_order_relaxed) < 1) return;
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  t.seconds[name] += seconds;
}

void step_timers_step_done() {
  if (step_timers_on()) {
    table();
    g_steps.fetch_add(1);
  }
}

}  // namespace wenxin::train
