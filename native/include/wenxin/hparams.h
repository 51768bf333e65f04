// ERNIE 4.5 hyper-parameters (dense and MoE), as config.json or GGUF metadata give them; validated
// once at load (model/ernie4_5/hparams.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "wenxin/status.h"

namespace wenxin {

struct Ernie45Hparams {
  std::string model_type;  // "ernie4_5" or "ernie4_5_moe"
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  float rope_theta = 500000.0f;
  float rms_norm_eps = 1e-5f;
  bool use_bias = false;
  bool tie_word_embeddings = true;
  // MoE (zero experts = dense model)
  int64_t moe_num_experts = 0;
  int64_t moe_k = 0;
  int64_t moe_intermediate_size = 0;
  int64_t moe_num_shared_experts = 0;
  int64_t moe_layer_start_index = 0;
  int64_t moe_layer_end_index = -1;  // -1: the last layer
  int64_t moe_layer_interval = 1;
  double moe_norm_min = 1e-12;

  Status validate() const;
  bool is_moe() const { return moe_num_experts > 0; }
  // transformers' rule: which layers use the MoE block instead of the dense FFN.
  bool is_moe_layer(int64_t layer) const;
  int64_t q_dim() const { return num_heads * head_dim; }
  int64_t kv_dim() const { return num_kv_heads * head_dim; }
};

}  // namespace wenxin
