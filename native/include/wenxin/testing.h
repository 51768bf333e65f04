// Test-only: arm a fault at an engine site for one request (or adapter) id, so tests can show that
// a failure there ends only that request. Reached from JS only through the addon's `testing` object.
#pragma once

#include <cstdint>

namespace wenxin::testing {

enum class FaultSite : int {
  kSampling = 0,  // key: request id
  kConstraint,    // key: request id
  kAdapterLoad,   // key: adapter id
};

// The next pass of `site` with this key throws a std::runtime_error naming the site.
void arm_fault(FaultSite site, int64_t key);
void clear_faults();

}  // namespace wenxin::testing
