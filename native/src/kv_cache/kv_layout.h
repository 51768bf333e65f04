// How one KV cache block is laid out in memory, for each storage precision.
// A block holds `block_tokens` positions of every layer's keys and values:
//   data:   [K | V][layer][slot][kv_dim] elements (f32, bf16 or int8)
//   scales: [K | V][layer][slot][kv_heads] float32, int8 only (one absmax scale per head and position)
#pragma once

#include <cstdint>
#include <cstring>

#include "core/dtype.h"
#include "wenxin/engine_options.h"

namespace wenxin::kv {

inline int64_t kv_element_bytes(KvPrecision p) { return p == KvPrecision::kF32 ? 4 : p == KvPrecision::kBf16 ? 2 : 1; }

struct KvCacheShape {
  int64_t layers = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  int64_t block_tokens = 32;
  KvPrecision precision = KvPrecision::kF32;

  int64_t kv_dim() const { return kv_heads * head_dim; }
  int64_t element_bytes() const { return kv_element_bytes(precision); }
  bool has_scales() const { return precision == KvPrecision::kInt8; }
  // Bytes between consecutive positions of one layer's keys (or values).
  int64_t position_bytes() const { return kv_dim() * element_bytes(); }
  int64_t data_bytes() const { return 2 * layers * block_tokens * position_bytes(); }
  int64_t scale_floats() const { return has_scales() ? 2 * layers * block_tokens * kv_heads : 0; }
  int64_t block_bytes() const { return data_bytes() + scale_floats() * 4; }
  // Cache memory per token of context, over all layers, keys and values.
  int64_t bytes_per_token() const { return block_bytes() / block_tokens; }

  int64_t data_offset(int kv, int64_t layer, int64_t slot) const {
    return ((kv * layers + layer) * block_tokens + slot) * position_bytes();
  }
  int64_t scale_offset(int kv, int64_t layer, int64_t slot) const {
    return data_bytes() + ((kv * layers + layer) * block_tokens + slot) * kv_heads * 4;
  }
};

// Writes one position's keys or values (kv_dim floats) in the block's precision.
inline void store_kv_row(const KvCacheShape& s, const float* src, uint8_t* dst, float* scales) {
  const int64_t n = s.kv_dim();
  switch (s.precision) {
    case KvPrecision::kF32: std::memcpy(dst, src, n * sizeof(float)); break;
    case KvPrecision::kBf16: {
      auto* out = reinterpret_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) out[i] = f32_to_bf16(src[i]);
      break;
    }
    case KvPrecision::kInt8: {
      auto* out = reinterpret_cast<int8_t*>(dst);
      for (int64_t h = 0; h < s.kv_heads; ++h) {
        const float* x = src + h * s.head_dim;
        float amax = 0;
        for (int64_t i = 0; i < s.head_dim; ++i) amax = x[i] > amax ? x[i] : (-x[i] > amax ? -x[i] : amax);
        const float scale = amax / 127.0f;
        const float inv = scale > 0 ? 1.0f / scale : 0.0f;
        scales[h] = scale;
        for (int64_t i = 0; i < s.head_dim; ++i) {
          float q = x[i] * inv;
          q = q > 127.f ? 127.f : (q < -127.f ? -127.f : q);
          out[h * s.head_dim + i] = static_cast<int8_t>(q >= 0 ? q + 0.5f : q - 0.5f);
        }
      }
      break;
    }
  }
}

}  // namespace wenxin::kv
