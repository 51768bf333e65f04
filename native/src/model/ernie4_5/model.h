// The ERNIE 4.5 causal LM (dense and MoE share this graph; MoE layers are chosen by hparams).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "formats/tensor_store.h"
#include "model/batch.h"
#include "model/ernie4_5/weights.h"
#include "wenxin/hparams.h"

namespace wenxin::model {

class Ernie45Model {
 public:
  // Maps the safetensors shards and binds every weight; fails with a typed Status.
  // `for_saving` keeps quantized matrices in the plain layout that save() writes.
  static Status load(const Ernie45Hparams& hp, const std::vector<std::string>& files, WeightFormat format,
                     ThreadPool& pool, std::unique_ptr<Ernie45Model>* out, bool for_saving = false);

  const Ernie45Hparams& hparams() const { return hp_; }
  // The bound weights, read-only (training reads the frozen base through them).
  const Ernie45Weights& weights() const { return w_; }

  // Checks the batch against the model (token ids in the vocabulary, cache room for positions).
  Status validate(const Batch& batch) const;

  // The linear layer named `name` ("model.layers.0.self_attn.q_proj", transformers' spelling, which
  // adapters use; a checkpoint's own `ernie.` spelling works too), or nullptr.
  // Only the engine thread may change what it returns (LoRA slots), between steps.
  Linear* find_linear(const std::string& name);
  void for_each_linear(const std::function<void(Linear&)>& fn);

  // Writes every tensor to one safetensors file, matrices in their loaded (quantized) format; with
  // `tiles`, q4 matrices in the active kernels' tiles (NAME.qtiles, made one matrix at a time on `pool`).
  Status save(const std::string& path, WeightFormat format, ThreadPool& pool, bool tiles = false) const;

  // Whether the mapped checkpoint files are still as loaded (see TensorStore::check_files).
  Status check_files() const { return store_.check_files(); }

  // Runs one step: writes K/V of every batch token to its cache, fills the requested outputs.
  void forward(const Batch& batch, StepOutput* out, ThreadPool& pool) const;

 private:
  Ernie45Hparams hp_;
  TensorStore store_;
  Ernie45Weights w_;
};

}  // namespace wenxin::model
