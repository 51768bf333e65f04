#include "wenxin/hparams.h"

#include <cmath>

namespace wenxin {

namespace {

Status bad(const std::string& what) { return Status(ErrorCode::kInvalidConfig, "invalid ERNIE 4.5 config: " + what); }

}  // namespace

Status Ernie45Hparams::validate() const {
  if (model_type != "ernie4_5" && model_type != "ernie4_5_moe")
    return Status(ErrorCode::kUnknownArchitecture,
                  "unknown model_type '" + model_type + "': expected ernie4_5 or ernie4_5_moe");
  auto positive = [](int64_t v) { return v > 0; };
  // Upper bounds far above any released model keep every size derived at load (widths, tensor
  // element counts, cache blocks) inside int64 and refuse configs that could only exhaust memory.
  const struct {
    const char* key;
    int64_t value, max;
  } limits[] = {{"hidden_size", hidden_size, 1 << 20},
                {"intermediate_size", intermediate_size, 1 << 22},
                {"num_hidden_layers", num_layers, 1 << 12},
                {"num_attention_heads", num_heads, 1 << 12},
                {"num_key_value_heads", num_kv_heads, 1 << 12},
                {"head_dim", head_dim, 1 << 12},
                {"vocab_size", vocab_size, 1 << 24},
                {"max_position_embeddings", max_position_embeddings, int64_t{1} << 32},
                {"moe_num_experts", moe_num_experts, 1 << 12},
                {"moe_intermediate_size", moe_intermediate_size, 1 << 22},
                {"moe_num_shared_experts", moe_num_shared_experts, 1 << 8}};
  for (const auto& l : limits)
    if (l.value > l.max)
      return bad(std::string(l.key) + " " + std::to_string(l.value) + " is larger than the supported " +
                 std::to_string(l.max));
  if (!positive(hidden_size)) return bad("hidden_size must be > 0, got " + std::to_string(hidden_size));
  if (!positive(num_layers)) return bad("num_hidden_layers must be > 0, got " + std::to_string(num_layers));
  if (!positive(num_heads)) return bad("num_attention_heads must be > 0, got " + std::to_string(num_heads));
  if (!positive(num_kv_heads) || num_heads % num_kv_heads != 0)
    return bad("num_key_value_heads (" + std::to_string(num_kv_heads) + ") must divide num_attention_heads (" +
               std::to_string(num_heads) + ")");
  if (!positive(head_dim) || head_dim % 2 != 0)
    return bad("head_dim must be even and > 0, got " + std::to_string(head_dim));
  if (!positive(vocab_size)) return bad("vocab_size must be > 0");
  if (!positive(intermediate_size)) return bad("intermediate_size must be > 0");
  if (!(rope_theta > 0) || !std::isfinite(rope_theta)) return bad("rope_theta must be finite and > 0");
  if (!(rms_norm_eps > 0) || !std::isfinite(rms_norm_eps)) return bad("rms_norm_eps must be finite and > 0");
  if (is_moe()) {
    if (model_type != "ernie4_5_moe") return bad("moe_num_experts is set but model_type is " + model_type);
    if (moe_k <= 0 || moe_k > moe_num_experts)
      return bad("moe_k must be in 1.." + std::to_string(moe_num_experts) + ", got " + std::to_string(moe_k));
    if (!positive(moe_intermediate_size)) return bad("moe_intermediate_size must be > 0");
    if (moe_num_shared_experts < 0) return bad("moe_num_shared_experts must be >= 0");
    if (moe_layer_interval <= 0) return bad("moe_layer_interval must be > 0");
    if (moe_layer_start_index < 0) return bad("moe_layer_start_index must be >= 0");
    if (!(moe_norm_min >= 0) || !std::isfinite(moe_norm_min)) return bad("moe_norm_min must be finite and >= 0");
  }
  return Status::ok();
}

bool Ernie45Hparams::is_moe_layer(int64_t layer) const {
  if (!is_moe()) return false;
  const int64_t end = moe_layer_end_index < 0 ? num_layers - 1 : moe_layer_end_index;
  return (layer + 1) % moe_layer_interval == 0 && layer >= moe_layer_start_index && layer <= end;
}

}  // namespace wenxin
