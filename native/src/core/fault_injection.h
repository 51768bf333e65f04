// The fault points of wenxin/testing.h: a site in the engine throws when a test armed it for the
// request (or adapter) passing by. Compiled in every build; armed only through the addon's
// `testing` entry, never by options or input. An unarmed site costs one relaxed atomic load.
#pragma once

#include <atomic>
#include <cstdint>

#include "wenxin/testing.h"

namespace wenxin::testing {

namespace detail {
extern std::atomic<int> armed_count;
void fire_if_armed(FaultSite site, int64_t key);
}  // namespace detail

inline void fault_point(FaultSite site, int64_t key) {
  if (detail::armed_count.load(std::memory_order_relaxed) > 0) detail::fire_if_armed(site, key);
}

}  // namespace wenxin::testing
