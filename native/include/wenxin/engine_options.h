// How an engine is built: threads, context, KV cache budget and precision, batching, weight format.
// The defaults live here and nowhere else on the native side; validate() runs before anything is
// loaded, so a bad option costs no weight mapping.
#pragma once

#include <cstdint>
#include <string>

#include "wenxin/hparams.h"
#include "wenxin/status.h"

namespace wenxin {

// How matrices are held: as stored (F32/F16/BF16, float compute), or quantized once at load.
enum class WeightFormat { kFloat, kQ8, kQ4, kFp8 };

inline const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::kQ8: return "q8";
    case WeightFormat::kQ4: return "q4";
    case WeightFormat::kFp8: return "fp8";
    default: return "bf16";
  }
}

inline bool parse_weight_format(const std::string& name, WeightFormat* out) {
  for (WeightFormat f : {WeightFormat::kFloat, WeightFormat::kQ8, WeightFormat::kQ4, WeightFormat::kFp8})
    if (name == weight_format_name(f)) {
      *out = f;
      return true;
    }
  return false;
}

// How the KV cache stores keys and values (kv_cache/kv_layout.h).
enum class KvPrecision : int32_t { kF32 = 0, kBf16 = 1, kInt8 = 2 };

inline const char* kv_precision_name(KvPrecision p) {
  switch (p) {
    case KvPrecision::kBf16: return "bf16";
    case KvPrecision::kInt8: return "int8";
    default: return "f32";
  }
}

inline bool parse_kv_precision(const std::string& name, KvPrecision* out) {
  for (KvPrecision p : {KvPrecision::kF32, KvPrecision::kBf16, KvPrecision::kInt8})
    if (name == kv_precision_name(p)) {
      *out = p;
      return true;
    }
  return false;
}

// Every option is given by the caller: the defaults are declared once, on the TypeScript side
// (`LOAD_DEFAULTS` and `loadOptionsSchema` in packages/engine/src/engine.ts), and the addon refuses
// an options object that lacks one. Zero values here mean "not given" and fail validate().
struct EngineOptions {
  int threads = 0;
  int64_t max_context = 0;  // per sequence, clamped to the model's maximum
  // The KV cache budget over all sequences: bytes if set, else tokens.
  int64_t kv_cache_bytes = 0;
  int64_t kv_cache_tokens = 0;
  int64_t max_sequences = 0;         // running at once; the rest wait
  int64_t max_batch_tokens = 0;      // tokens per step: every decode token, then prompt chunks
  int64_t max_embedding_tokens = 0;  // tokens over all inputs of one embedding request
  KvPrecision kv_precision = KvPrecision::kF32;
  bool prefix_caching = false;
  WeightFormat weights = WeightFormat::kFloat;

  // Checks every option against the model's hyper-parameters (the KV budget against its size per
  // token) and fails naming the option. Runs before the weights are touched.
  Status validate(const Ernie45Hparams& hp) const;
  // The context after clamping to the model's maximum.
  int64_t context_for(const Ernie45Hparams& hp) const;
};

}  // namespace wenxin
