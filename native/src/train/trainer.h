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
#include "train/matmul.h"
#include "wenxin/status.h"
#include "wenxin/trainer.h"

namespace wenxin::train {

// The options, batches and losses are wenxin/trainer.h's.
class LoraTrainer final : public ::wenxin::LoraTrainer {
 public:
  static Status create(const model::Ernie45Model& model, TrainerOptions options, std::unique_ptr<LoraTrainer>* out);

  Status accumulate(const TrainBatch& batch, float scale, uint64_t seed, BatchLoss* loss, ThreadPool& pool) override;
  Status evaluate(const TrainBatch& batch, BatchLoss* loss, ThreadPool& pool) override;

  double grad_norm() const;
  double apply(const AdamWOptions& opt) override;
  void zero_grad() override;

  std::vector<LoraParam>& params() { return params_; }
  int64_t step() const override { return step_; }
  void set_step(int64_t step) override { step_ = step; }

  size_t param_count() const override { return params_.size(); }
  const std::string& param_name(size_t i) const override { return params_[i].name; }
  std::pair<std::vector<float>*, std::vector<float>*> tensors(size_t i, TrainerTensors kind) override;

 private:
  LoraTrainer(const model::Ernie45Model& m) : model_(m) {}
  Status bind(TrainerOptions options);
  // Packs the frozen weights' panels (in the compute dtype) into kept_ at the first step (the LM head's,
  // both directions unless quantized; then the dense layers', see trainer.cpp).
  void keep_panels(ThreadPool& pool);
  Status prepare(const TrainBatch& batch, uint64_t seed, BatchContext* ctx, LossRows* rows,
                 std::vector<float>* h) const;

  const model::Ernie45Model& model_;
  std::vector<LoraParam> params_;
  std::vector<LayerLora> layers_;  // views into params_, per decoder layer
  int64_t lowest_layer_ = 0;       // no trainable parameter below it
  bool checkpointing_ = true;
  int64_t activation_budget_ = 0;                                // bytes of layer intermediates kept with checkpointing
  bool compute_bf16_ = false;                                    // TrainerOptions::compute_bf16
  KeptPanels kept_;                                              // the frozen weights' panels (keep_panels)
  bool panels_kept_ = false;                                     // keep_panels has run
  static constexpr int64_t kLayerPanelBytes = int64_t{1} << 30;  // the dense layers' share of kept_
  // accumulate's layer inputs, kept intermediates and gradients, reused from step to step.
  std::vector<std::vector<float>> inputs_;
  std::vector<LayerActs> acts_;
  LayerActs recomputed_;
  std::vector<float> dh_, dx_, scratch_;
  int64_t step_ = 0;
};

}  // namespace wenxin::train
