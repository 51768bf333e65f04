// WENXIN_TRAIN_TIMERS=1: seconds per phase of the trainer's steps after the first (the warm-up),
// summed per name and printed to stderr when the process exits. TRAIN_PHASE counts the wall time of
// the thread it runs on (nested phases count in their parents too); TRAIN_CPU_PHASE that thread's
// CPU time, for work inside the pool's loops (summed over the threads). Off (the default), a phase
// is one predictable branch.
#pragma once

namespace wenxin::train {

bool step_timers_on();
double step_timer_now(bool cpu);
void step_timer_add(const char* name, double seconds);
// The trainer calls this after each step; phases count from the second step on.
void step_timers_step_done();

class StepTimer {
 public:
  explicit StepTimer(const char* name, bool cpu = false) : name_(step_timers_on() ? name : nullptr), cpu_(cpu) {
    if (name_) start_ = step_timer_now(cpu_);
  }
  ~StepTimer() { stop(); }
  void stop() {
    if (name_) step_timer_add(name_, step_timer_now(cpu_) - start_);
    name_ = nullptr;
  }
  StepTimer(const StepTimer&) = delete;
  StepTimer& operator=(const StepTimer&) = delete;

 private:
  const char* name_;
  bool cpu_;
  double start_ = 0;
};

}  // namespace wenxin::train

#define WENXIN_TRAIN_CAT2(a, b) a##b
#define WENXIN_TRAIN_CAT(a, b) WENXIN_TRAIN_CAT2(a, b)
#define TRAIN_PHASE(name) ::wenxin::train::StepTimer WENXIN_TRAIN_CAT(train_phase_, __LINE__)(name)
#define TRAIN_CPU_PHASE(name) ::wenxin::train::StepTimer WENXIN_TRAIN_CAT(train_phase_, __LINE__)(name, true)
