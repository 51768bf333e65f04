// A linear layer: its weight either stays in the checkpoint's memory map (F32, F16, BF16) or is
// quantized once at load into the kernels' block layouts (q8, q4, fp8).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/quant_formats.h"

namespace wenxin::model {

enum class WeightFormat { kFloat, kQ8, kQ4, kFp8 };

struct Linear {
  WeightFormat format = WeightFormat::kFloat;
  TensorView weight;                             // kFloat: [out, in], PyTorch layout
  kernels::QuantizedMatrix quantized;            // the other formats
  std::shared_ptr<const std::vector<uint8_t>> storage;  // owns the quantized bytes and scales
  std::vector<float> bias;                       // empty when the layer has none
  int64_t out = 0;
  int64_t in = 0;
};

// One step's input rows, quantized at most once however many layers read them (q/k/v, gate/up).
class LinearInput {
 public:
  LinearInput(const float* x, int64_t tokens, int64_t k) : x_(x), tokens_(tokens), k_(k) {}
  const float* data() const { return x_; }
  int64_t tokens() const { return tokens_; }
  const kernels::QuantizedActivations& quantized(ThreadPool& pool);

 private:
  const float* x_;
  int64_t tokens_, k_;
  bool ready_ = false;
  kernels::QuantizedActivations q_;
};

// y[T, out] = x[T, in] · W^T (+ b). Work is split over output rows.
void linear_forward(const Linear& layer, LinearInput& x, float* y, ThreadPool& pool);
void linear_forward(const Linear& layer, const float* x, int64_t tokens, float* y, ThreadPool& pool);

// Quantizes `layer.weight` (kFloat) into `format`, in parallel. Inner sizes not a multiple of 32
// stay in float: the block formats need whole blocks.
void quantize_linear(Linear* layer, WeightFormat format, ThreadPool& pool);

}  // namespace wenxin::model
