// Fuzz target: config.json text → ERNIE 4.5 hyper-parameters → validate(). The key mapping is
// the one packages/engine/src/model/config.ts applies before handing hparams to the addon (with
// its defaults); what validate() accepts must be safe to size a model with: the derived widths and
// the per-layer MoE rule are computed here, so an overflow is an UndefinedBehaviorSanitizer report.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/json.h"
#include "wenxin/hparams.h"

namespace {

using wenxin::JsonValue;

// Reads an integer key the way the addon does (numbers only); false when present but not an integer.
bool read_int(const JsonValue& o, std::string_view key, int64_t* out) {
  const JsonValue* v = o.get(key);
  if (v == nullptr || v->kind == JsonValue::Kind::kNull) return true;
  if (v->kind == JsonValue::Kind::kArray && !v->array.empty()) v = &v->array[0];  // moe_layer_*_index lists
  if (v->kind != JsonValue::Kind::kNumber || !v->is_integer) return false;
  *out = v->integer;
  return true;
}

bool read_float(const JsonValue& o, std::string_view key, double* out) {
  const JsonValue* v = o.get(key);
  if (v == nullptr || v->kind == JsonValue::Kind::kNull) return true;
  if (v->kind != JsonValue::Kind::kNumber) return false;
  *out = v->number;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  JsonValue config;
  if (!wenxin::parse_json(std::string_view(reinterpret_cast<const char*>(data), size), &config).is_ok()) return 0;
  if (!config.is_object()) return 0;
  wenxin::Ernie45Hparams hp;
  const JsonValue* type = config.get("model_type");
  if (type != nullptr && type->is_string()) hp.model_type = type->string;
  const bool moe = hp.model_type == "ernie4_5_moe";
  double rope = 500000, eps = 1e-5, norm_min = 1e-12;
  bool ok = read_int(config, "hidden_size", &hp.hidden_size) &&
            read_int(config, "intermediate_size", &hp.intermediate_size) &&
            read_int(config, "num_hidden_layers", &hp.num_layers) &&
            read_int(config, "num_attention_heads", &hp.num_heads) && read_int(config, "vocab_size", &hp.vocab_size) &&
            read_int(config, "max_position_embeddings", &hp.max_position_embeddings) &&
            read_float(config, "rope_theta", &rope) && read_float(config, "rms_norm_eps", &eps) &&
            read_float(config, "moe_norm_min", &norm_min);
  hp.num_kv_heads = hp.num_heads;
  hp.head_dim = hp.num_heads > 0 ? hp.hidden_size / hp.num_heads : 0;
  ok = ok && read_int(config, "num_key_value_heads", &hp.num_kv_heads) && read_int(config, "head_dim", &hp.head_dim);
  if (moe) {
    hp.moe_num_experts = 64, hp.moe_k = 6, hp.moe_intermediate_size = 1536, hp.moe_layer_start_index = 1;
    ok = ok && read_int(config, "moe_num_experts", &hp.moe_num_experts) && read_int(config, "moe_k", &hp.moe_k) &&
         read_int(config, "moe_intermediate_size", &hp.moe_intermediate_size) &&
         read_int(config, "moe_num_shared_experts", &hp.moe_num_shared_experts) &&
         read_int(config, "moe_layer_start_index", &hp.moe_layer_start_index) &&
         read_int(config, "moe_layer_end_index", &hp.moe_layer_end_index) &&
         read_int(config, "moe_layer_interval", &hp.moe_layer_interval);
  }
  if (!ok) return 0;
  hp.rope_theta = static_cast<float>(rope);
  hp.rms_norm_eps = static_cast<float>(eps);
  hp.moe_norm_min = norm_min;

  const wenxin::Status st = hp.validate();
  if (!st.is_ok()) return 0;
  // Accepted: everything a load derives from these must be computable.
  volatile int64_t sink = hp.q_dim() + 2 * hp.kv_dim();
  sink = sink + hp.hidden_size * hp.vocab_size + hp.intermediate_size * hp.hidden_size;
  if (hp.is_moe())
    sink = sink + hp.moe_num_experts * hp.moe_intermediate_size * hp.hidden_size * (hp.moe_num_shared_experts + 1);
  int64_t moe_layers = 0;
  for (int64_t l = 0; l < hp.num_layers; ++l) moe_layers += hp.is_moe_layer(l);
  sink = sink + moe_layers * hp.num_layers;
  if (!std::isfinite(hp.rope_theta) || !std::isfinite(hp.rms_norm_eps)) __builtin_trap();
  return 0;
}
