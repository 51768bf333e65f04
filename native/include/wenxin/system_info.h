// What the machine offers the engine: the kernel paths this CPU can run, and its memory bandwidth.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wenxin {

// The kernel path in use (WENXIN_ISA or the best the CPU supports), and all it could use. When
// WENXIN_ISA names a path this build or CPU cannot run, `error` says so and `active` is empty.
struct KernelPaths {
  std::string active;
  std::vector<std::string> supported;
  std::string error;
};
KernelPaths kernel_paths();

// Best of `repeats` full passes over a `bytes` buffer split across `threads`, in GB/s (1e9 bytes).
double measure_read_bandwidth(int64_t bytes, int threads, int repeats = 5);

}  // namespace wenxin
