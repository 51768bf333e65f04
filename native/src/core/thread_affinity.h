// Thread placement and spin-waiting, per OS and architecture (platform layer).
#pragma once

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

namespace wenxin {

// Pins the calling thread to the `index`-th CPU it may run on (modulo their count), so a thread
// pool's workers stay on distinct cores. Linux: sched_getaffinity + pthread_setaffinity_np;
// Windows: SetThreadAffinityMask within the process mask (first processor group); macOS has no
// affinity call (only scheduler hints), so there it does nothing. Returns whether it pinned.
bool pin_current_thread(int index);

// One spin-wait step: tells the core that this thread is polling (x86 `pause`, ARM `yield`).
inline void cpu_relax() {
#if defined(_MSC_VER) && !defined(__clang__) && (defined(_M_X64) || defined(_M_IX86))
  _mm_pause();
#elif defined(_MSC_VER) && !defined(__clang__) && defined(_M_ARM64)
  __yield();
#elif defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#endif
}

}  // namespace wenxin
