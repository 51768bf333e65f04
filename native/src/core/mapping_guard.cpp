#include "core/mapping_guard.h"

#include <atomic>

#if !defined(_WIN32)
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mutex>
#endif

namespace wenxin::mapping_guard {

#if !defined(_WIN32)

namespace {

constexpr int kSlots = 4096;

// Read by the signal handler: only lock-free atomics. `begin` is published last (release) and
// cleared first, so the handler never sees a half-written range.
struct Slot {
  std::atomic<bool> used{false};
  std::atomic<uintptr_t> begin{0}, end{0};
  std::atomic<bool> faulted{false};
};

Slot g_slots[kSlots];
std::atomic<uint64_t> g_faults{0};
uintptr_t g_page = 4096;
struct sigaction g_previous;

void pass_on(int sig, siginfo_t* info, void* context) {
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, info, context);
  } else if ((g_previous.sa_flags & SA_SIGINFO) == 0 && g_previous.sa_handler != SIG_DFL &&
             g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
  } else {
    // Default action: restore it; the faulting read runs again on return and ends the process.
    signal(sig, SIG_DFL);
  }
}

void on_sigbus(int sig, siginfo_t* info, void* context) {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (Slot& s : g_slots) {
    const uintptr_t begin = s.begin.load(std::memory_order_acquire);
    if (begin == 0 || addr < begin) continue;
    const uintptr_t end = s.end.load(std::memory_order_relaxed);
    if (addr >= end) continue;
    // Everything from the faulting page on lies past the file's new end: read zeros there.
    const uintptr_t page = addr / g_page * g_page;
    void* p = mmap(reinterpret_cast<void*>(page), end - page, PROT_READ, MAP_PRIVATE | MAP_ANON | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) break;
    s.faulted.store(true, std::memory_order_release);
    g_faults.fetch_add(1, std::memory_order_release);
    return;
  }
  pass_on(sig, info, context);
}

void install() {
  g_page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  struct sigaction action = {};
  action.sa_sigaction = on_sigbus;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  sigaction(SIGBUS, &action, &g_previous);
}

}  // namespace

int watch(const void* base, size_t bytes) {
  static std::once_flag installed;
  std::call_once(installed, install);
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (!g_slots[i].used.compare_exchange_strong(expected, true)) continue;
    const uintptr_t b = reinterpret_cast<uintptr_t>(base);
    g_slots[i].faulted.store(false);
    g_slots[i].end.store((b + bytes + g_page - 1) / g_page * g_page, std::memory_order_relaxed);
    g_slots[i].begin.store(b, std::memory_order_release);
    return i;
  }
  return -1;
}

void unwatch(int slot) {
  if (slot < 0 || slot >= kSlots) return;
  g_slots[slot].begin.store(0, std::memory_order_release);
  g_slots[slot].used.store(false, std::memory_order_release);
}

bool faulted(int slot) { return slot >= 0 && slot < kSlots && g_slots[slot].faulted.load(std::memory_order_acquire); }

uint64_t fault_count() { return g_faults.load(std::memory_order_acquire); }

#else  // Windows refuses to truncate a mapped file: nothing to guard.

int watch(const void*, size_t) { return -1; }
void unwatch(int) {}
bool faulted(int) { return false; }
uint64_t fault_count() { return 0; }

#endif

}  // namespace wenxin::mapping_guard
