#include "core/thread_affinity.h"

#if defined(_WIN32)
#include <windows.h>
#elif defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace wenxin {

bool pin_current_thread(int index) {
#if defined(__linux__)
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return false;
  const int count = CPU_COUNT(&allowed);
  if (count <= 1) return false;
  int seen = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    if (seen++ == index % count) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      return pthread_setaffinity_np(pthread_self(), sizeof(one), &one) == 0;
    }
  }
  return false;
#elif defined(_WIN32)
  DWORD_PTR process_mask = 0, system_mask = 0;
  if (!GetProcessAffinityMask(GetCurrentProcess(), &process_mask, &system_mask)) return false;
  int count = 0;
  for (DWORD_PTR m = process_mask; m != 0; m &= m - 1) ++count;
  if (count <= 1) return false;
  int seen = 0;
  for (int cpu = 0; cpu < static_cast<int>(8 * sizeof(DWORD_PTR)); ++cpu) {
    const DWORD_PTR one = static_cast<DWORD_PTR>(1) << cpu;
    if ((process_mask & one) == 0) continue;
    if (seen++ == index % count) return SetThreadAffinityMask(GetCurrentThread(), one) != 0;
  }
  return false;
#else
  (void)index;  // macOS and others: no thread affinity API
  return false;
#endif
}

}  // namespace wenxin
