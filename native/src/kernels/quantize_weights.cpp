#include "kernels/quantize_weights.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dtype.h"
#include "kernels/quant_formats.h"

namespace wenxin::kernels {

namespace {

uint8_t f32_to_fp8_e4m3(float v) {
  // Nearest representable e4m3 value, found by search over the 127 positive codes (load time only).
  static const std::vector<float> positive = [] {
    std::vector<float> p(127);
    for (int i = 0; i < 127; ++i) p[i] = fp8_e4m3_to_f32(static_cast<uint8_t>(i));
    return p;
  }();
  const float a = std::fabs(v);
  const auto it = std::lower_bound(positive.begin(), positive.end(), a);
  int best = static_cast<int>(it - positive.begin());
  if (best >= 127) best = 126;
  if (best > 0 && std::fabs(positive[best - 1] - a) <= std::fabs(positive[best] - a)) --best;
  return static_cast<uint8_t>(best | (v < 0 ? 0x80 : 0));
}

}  // namespace

void quantize_weight_row_q8(const float* row, int64_t k, uint16_t* block_scales, uint8_t* out) {
  for (int64_t b = 0; b < k / kQBlock; ++b) {
    const float* x = row + b * kQBlock;
    float bmax = 0;
    for (int64_t i = 0; i < kQBlock; ++i) bmax = std::fmax(bmax, std::fabs(x[i]));
    block_scales[b] = f32_to_f16(bmax / 127.0f);
    const float d = f16_to_f32(block_scales[b]), inv = d > 0 ? 1.0f / d : 0.0f;
    for (int64_t i = 0; i < kQBlock; ++i) {
      const int v = static_cast<int>(std::lrintf(x[i] * inv));
      out[b * kQBlock + i] = static_cast<uint8_t>(std::clamp(v, -127, 127) + 128);
    }
  }
}

void quantize_weight_row_q4(const float* row, int64_t k, uint16_t* block_scales, uint8_t* out) {
  thread_local std::vector<uint8_t> q;
  q.resize(static_cast<size_t>(k));
  for (int64_t b = 0; b < k / kQBlock; ++b) {
    const float* x = row + b * kQBlock;
    float amax = 0, maxv = 0;
    for (int64_t i = 0; i < kQBlock; ++i)
      if (std::fabs(x[i]) > amax) {
        amax = std::fabs(x[i]);
        maxv = x[i];
      }
    // The largest-magnitude value maps to -8, using the full signed range; d may be negative.
    block_scales[b] = f32_to_f16(maxv / -8.0f);
    const float d = f16_to_f32(block_scales[b]);
    const float inv = d != 0 ? 1.0f / d : 0.0f;
    for (int64_t i = 0; i < kQBlock; ++i) {
      const int v = static_cast<int>(std::lrintf(x[i] * inv));
      q[b * kQBlock + i] = static_cast<uint8_t>(std::clamp(v, -8, 7) + 8);
    }
  }
  for (int64_t c = 0; c * kQChunk < k; ++c) {
    const int64_t half = std::min<int64_t>(kQChunk, k - c * kQChunk) / 2;
    for (int64_t j = 0; j < half; ++j)
      out[c * (kQChunk / 2) + j] = static_cast<uint8_t>(q[c * kQChunk + j] | (q[c * kQChunk + j + half] << 4));
  }
}

void quantize_weight_row_fp8(const float* row, int64_t k, float* row_scale, uint8_t* out) {
  float amax = 0;
  for (int64_t i = 0; i < k; ++i) amax = std::fmax(amax, std::fabs(row[i]));
  const float d = amax / 448.0f, inv = d > 0 ? 1.0f / d : 0.0f;
  for (int64_t i = 0; i < k; ++i) out[i] = f32_to_fp8_e4m3(row[i] * inv);
  *row_scale = d;
}

}  // namespace wenxin::kernels
