// Measures the machine's memory read bandwidth with a streaming-read loop (for roofline figures).
#pragma once

#include <cstdint>

namespace wenxin {

// Best of `repeats` full passes over a `bytes` buffer split across `threads`, in GB/s (1e9 bytes).
double measure_read_bandwidth(int64_t bytes, int threads, int repeats = 5);

}  // namespace wenxin
