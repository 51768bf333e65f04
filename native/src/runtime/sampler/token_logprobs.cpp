#include "runtime/sampler/token_logprobs.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/kernels.h"

namespace wenxin::runtime {

TokenLogprob token_logprob(const float* raw, int64_t vocab, int32_t chosen, int32_t top) {
  // log Σ e^raw through the kernel table's vectorised max and exp (a pass over the vocabulary a token).
  const auto& K = kernels::active_kernels();
  const float mx = vocab > 0 ? K.max_f32(raw, vocab) : -std::numeric_limits<float>::infinity();
  thread_local std::vector<float> e;
  e.resize(vocab);
  const double sum = std::isinf(mx) ? 1.0 : K.exp_sum_f32(raw, 1.0f, mx, e.data(), vocab);
  const float lse = mx + static_cast<float>(std::log(sum));

  TokenLogprob out;
  out.token = chosen;
  out.logprob = raw[chosen] - lse;
  const int64_t n = std::min<int64_t>(std::max<int32_t>(top, 0), vocab);
  if (n > 0) {
    // One pass keeping the n best in a small sorted buffer: O(vocab · n) with n ≤ 20, no copy of the row.
    std::vector<std::pair<int32_t, float>> best;
    best.reserve(static_cast<size_t>(n) + 1);
    for (int64_t i = 0; i < vocab; ++i) {
      const float v = raw[i];
      if (static_cast<int64_t>(best.size()) == n && v <= best.back().second) continue;
      auto pos = std::upper_bound(best.begin(), best.end(), v,
                                  [](float x, const std::pair<int32_t, float>& e) { return x > e.second; });
      best.insert(pos, {static_cast<int32_t>(i), v});
      if (static_cast<int64_t>(best.size()) > n) best.pop_back();
    }
    for (auto& [id, v] : best) out.top.emplace_back(id, v - lse);
  }
  return out;
}

}  // namespace wenxin::runtime
