// LoRA deltas kept apart from the base weights, so several adapters stay loaded and each token of
// a step uses its own request's adapter: y_t += scaling · B (A x_t).
#pragma once

#include <cstdint>
#include <vector>

namespace wenxin::model {

struct LoraSlot {
  int32_t adapter = -1;  // engine-wide adapter id
  int64_t rank = 0;
  float scaling = 1.0f;
  std::vector<float> a;  // [rank, in]
  std::vector<float> b;  // [out, rank]
};

// Adds each token's adapter delta to y[T, out]; `adapters[t]` is the token's adapter id (-1: none).
void apply_lora(const std::vector<LoraSlot>& slots, const float* x, int64_t tokens, int64_t in, int64_t out,
                const int32_t* adapters, float* y);

}  // namespace wenxin::model
