// LoRA training on a loaded model: trainable A/B matrices on the layers peft adapts, exact
// gradients of transformers' causal-LM loss through the frozen base (any weight format), and
// AdamW with PyTorch's semantics. The base weights are only read, so the engine keeps serving
// from them; every call runs on the caller's thread pool (the engine's thread, between steps).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/ernie4_5/model.h"
#include "train/layer_grad.h"
#include "train/lm_loss.h"
#include "train/lora_param.h"
#include "wenxin/status.h"

namespace wenxin::train {

struct LoraSpec {
  std::string name;  // PEFT's module path (see LoraParam)
  int64_t rank = 0;
  float scaling = 1.0f;
  float dropout = 0.0f;
  std::vector<float> a, b;  // initial values, PEFT's layout
};

struct TrainerOptions {
  std::vector<LoraSpec> params;
  // Keep only each layer's input during the forward and recompute the rest in the backward
  // (memory: layers × tokens × hidden); off keeps every intermediate (about a third faster).
  bool checkpointing = true;
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

class LoraTrainer {
 public:
  static Status create(const model::Ernie45Model& model, TrainerOptions options, std::unique_ptr<LoraTrainer>* out);

  // Forward and backward of `batch`: gradients += scale · ∂(Σ cross-entropy)/∂θ (scale = 1 / labels
  // of the whole optimizer step gives transformers' mean). `seed` drives LoRA dropout.
  Status accumulate(const TrainBatch& batch, float scale, uint64_t seed, BatchLoss* loss, ThreadPool& pool);
  // The loss alone (no dropout, no gradients).
  Status evaluate(const TrainBatch& batch, BatchLoss* loss, ThreadPool& pool);

  double grad_norm() const;
  // Clips (when max_grad_norm > 0) and takes one AdamW step; returns the norm before clipping.
  double apply(const AdamWOptions& opt);
  void zero_grad();

  std::vector<LoraParam>& params() { return params_; }
  int64_t step() const { return step_; }
  void set_step(int64_t step) { step_ = step; }

 private:
  LoraTrainer(const model::Ernie45Model& m) : model_(m) {}
  Status bind(TrainerOptions options);
  Status prepare(const TrainBatch& batch, uint64_t seed, BatchContext* ctx, LossRows* rows,
                 std::vector<float>* h) const;

  const model::Ernie45Model& model_;
  std::vector<LoraParam> params_;
  std::vector<LayerLora> layers_;  // views into params_, per decoder layer
  int64_t lowest_layer_ = 0;       // no trainable parameter below it
  bool checkpointing_ = true;
  int64_t step_ = 0;
};

}  // namespace wenxin::train
