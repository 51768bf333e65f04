// LoRA training on an engine's model (implemented by train/trainer.h): trainable A/B matrices on
// the layers peft adapts, exact gradients of the causal-LM loss through the frozen base, AdamW.
// Every call that computes runs on the engine's thread as a JobRequest::kTask, between steps; the
// ThreadPool it gets there is only passed through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "wenxin/status.h"

namespace wenxin {

class ThreadPool;

struct LoraSpec {
  std::string name;  // PEFT's module path (see train/lora_param.h)
  int64_t rank = 0;
  float scaling = 1.0f;
  float dropout = 0.0f;
  std::vector<float> a, b;  // initial values, PEFT's layout
};

struct TrainerOptions {
  std::vector<LoraSpec> params;
  // Activation checkpointing: the forward keeps every layer's input, and each layer's intermediates
  // only while their total stays within `activation_budget_bytes` (lowest layers first); the backward
  // recomputes the rest a layer at a time. Off keeps every intermediate whatever its size.
  bool checkpointing = true;
  int64_t activation_budget_bytes = 0;
  // Products through the frozen weights in bf16 (activations and gradients rounded to bf16, float32
  // sums: vdpbf16ps on AVX-512 BF16), as PyTorch trains a bfloat16 model; off, they are float32-exact.
  bool compute_bf16 = false;
};

// Sequences back to back (no padding): tokens and HF-style labels (−100: no loss), and lengths.
struct TrainBatch {
  std::vector<int32_t> tokens, labels;
  std::vector<int64_t> lengths;
};

struct BatchLoss {
  std::vector<double> seq_loss;     // per sequence: summed cross-entropy
  std::vector<int64_t> seq_labels;  // per sequence: tokens with a label
  double loss_sum = 0;
  int64_t labels = 0;
};

struct AdamWOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  double max_grad_norm = 0;  // clip the global gradient norm to this first (0: no clipping)
};

// The tensors a trainer keeps per parameter: values, gradients, AdamW's two moments.
enum class TrainerTensors { kParams, kGrads, kExpAvg, kExpAvgSq };

class LoraTrainer {
 public:
  virtual ~LoraTrainer() = default;

  // Forward and backward of `batch`: gradients += scale · ∂(Σ cross-entropy)/∂θ (scale = 1 / labels
  // of the whole optimizer step gives transformers' mean). `seed` drives LoRA dropout.
  virtual Status accumulate(const TrainBatch& batch, float scale, uint64_t seed, BatchLoss* loss, ThreadPool& pool) = 0;
  // The loss alone (no dropout, no gradients).
  virtual Status evaluate(const TrainBatch& batch, BatchLoss* loss, ThreadPool& pool) = 0;
  // Clips (when max_grad_norm > 0) and takes one AdamW step; returns the norm before clipping.
  virtual double apply(const AdamWOptions& opt) = 0;
  virtual void zero_grad() = 0;
  virtual int64_t step() const = 0;
  virtual void set_step(int64_t step) = 0;

  virtual size_t param_count() const = 0;
  virtual const std::string& param_name(size_t i) const = 0;
  // A and B of parameter i for one kind of tensor, PEFT's layout. Their sizes never change.
  virtual std::pair<std::vector<float>*, std::vector<float>*> tensors(size_t i, TrainerTensors kind) = 0;
};

}  // namespace wenxin
