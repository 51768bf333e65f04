// The ERNIE 4.5 weights bound to checkpoint tensors: every HF tensor name is spelled in
// weights.cpp alone. Large matrices stay memory-mapped; only norms and the router are widened.
#pragma once

#include <vector>

#include "formats/tensor_store.h"
#include "model/layers/ffn.h"
#include "model/layers/linear.h"
#include "wenxin/hparams.h"

namespace wenxin::model {

struct LayerWeights {
  std::vector<float> attn_norm, ffn_norm;
  Linear q, k, v, o;
  bool is_moe = false;
  FeedForward ffn;  // dense layers
  MoeBlock moe;     // MoE layers
};

struct Ernie45Weights {
  TensorView embed;  // [V, H]
  std::vector<float> final_norm;
  Linear lm_head;  // the embedding when tied
  std::vector<LayerWeights> layers;
};

// Finds every tensor the graph needs, checks dtypes and shapes, and fails with the tensor's
// name and expected shape when one is missing or wrong. `mtp*` tensors are ignored.
// Matrices are then quantized into `format` (router, norms and the embedding table stay as they are).
// With `repack`, quantized matrices are then re-laid into the active ISA's tiles (and the plain
// layout released); a model that will be saved keeps the plain layout instead.
Status bind_ernie45_weights(const Ernie45Hparams& hp, const TensorStore& store, WeightFormat format, bool repack,
                            ThreadPool& pool, Ernie45Weights* out);

}  // namespace wenxin::model
