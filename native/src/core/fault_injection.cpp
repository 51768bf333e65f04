#include "core/fault_injection.h"

#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace wenxin::testing {

namespace {

const char* site_name(FaultSite site) {
  switch (site) {
    case FaultSite::kSampling: return "sampling";
    case FaultSite::kConstraint: return "constraint";
    case FaultSite::kAdapterLoad: return "adapter load";
    default: return "unknown";
  }
}

std::mutex mu;
std::vector<std::pair<FaultSite, int64_t>> armed;

}  // namespace

namespace detail {

std::atomic<int> armed_count{0};

void fire_if_armed(FaultSite site, int64_t key) {
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = armed.begin();
    while (it != armed.end() && !(it->first == site && it->second == key)) ++it;
    if (it == armed.end()) return;
    armed.erase(it);
    armed_count.fetch_sub(1);
  }
  throw std::runtime_error(std::string("injected fault at ") + site_name(site) + " (" + std::to_string(key) + ")");
}

}  // namespace detail

void arm_fault(FaultSite site, int64_t key) {
  std::lock_guard<std::mutex> lock(mu);
  armed.emplace_back(site, key);
  detail::armed_count.fetch_add(1);
}

void clear_faults() {
  std::lock_guard<std::mutex> lock(mu);
  armed.clear();
  detail::armed_count.store(0);
}

}  // namespace wenxin::testing
