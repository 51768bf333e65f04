// A linear layer whose weight stays in the checkpoint's memory map (F32, F16 or BF16).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace wenxin::model {

struct Linear {
  TensorView weight;        // [out, in], PyTorch layout
  std::vector<float> bias;  // empty when the layer has none
  int64_t out = 0;
  int64_t in = 0;
};

// y[T, out] = x[T, in] · W^T (+ b). Work is split over output rows.
void linear_forward(const Linear& layer, const float* x, int64_t tokens, float* y, ThreadPool& pool);

}  // namespace wenxin::model
