#include "model/layers/linear.h"

#include "kernels/ops.h"

namespace wenxin::model {

void linear_forward(const Linear& layer, const float* x, int64_t tokens, float* y, ThreadPool& pool) {
  const int64_t in = layer.in, out = layer.out;
  const size_t row_bytes = static_cast<size_t>(in) * dtype_size(layer.weight.dtype);
  const auto* w = static_cast<const uint8_t*>(layer.weight.data);
  pool.parallel_for(
      out,
      [&](int64_t begin, int64_t end, int) {
        // Each weight row is widened once and reused for every token of the step.
        thread_local std::vector<float> row;
        row.resize(static_cast<size_t>(in));
        for (int64_t n = begin; n < end; ++n) {
          kernels::row_to_f32(w + n * row_bytes, layer.weight.dtype, in, row.data());
          const float b = layer.bias.empty() ? 0.0f : layer.bias[n];
          for (int64_t t = 0; t < tokens; ++t) y[t * out + n] = kernels::dot_f32(x + t * in, row.data(), in) + b;
        }
      },
      16);
}

}  // namespace wenxin::model
