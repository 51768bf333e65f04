#include "model/layers/linear.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/mapped_file.h"
#include "kernels/kernels.h"

namespace wenxin::model {

const kernels::QuantizedActivations& LinearInput::quantized(ThreadPool& pool) {
  if (!ready_) {
    q_.resize(tokens_, k_);
    const auto& K = kernels::active_kernels();
    pool.parallel_for(tokens_, [&](int64_t b, int64_t e, int) {
      for (int64_t t = b; t < e; ++t) K.quantize_row_q8(x_ + t * k_, t, &q_);
    });
    ready_ = true;
  }
  return q_;
}

void linear_rows(const Linear& layer, LinearInput& x, int64_t r0, int64_t r1, float* y) {
  const auto& K = kernels::active_kernels();
  const int64_t T = x.tokens(), out = layer.out;
  // With many tokens, walk the rows in blocks whose weights fit in L2 and stream every token past
  // each block; otherwise the whole matrix would be re-read from memory per group of tokens.
  const int64_t row_bytes = layer.format == WeightFormat::kQ4 ? layer.in / 2 + layer.in / 16
                            : layer.format == WeightFormat::kFloat
                                ? layer.in * static_cast<int64_t>(dtype_size(layer.weight.dtype))
                                : layer.in + layer.in / 16;
  const int64_t block_rows =
      T == 1 ? out : std::max<int64_t>(32, (192 * 1024 / std::max<int64_t>(1, row_bytes)) / 32 * 32);
  for (int64_t n0 = r0; n0 < r1; n0 += block_rows) {
    const int64_t n1 = std::min(r1, n0 + block_rows);
    switch (layer.format) {
      case WeightFormat::kFloat:
        K.gemm_float(x.data(), T, layer.in, layer.weight.data, layer.weight.dtype,
                     static_cast<size_t>(layer.in) * dtype_size(layer.weight.dtype), n0, n1, y, out);
        break;
      case WeightFormat::kQ8: K.gemm_q8(x.quantized_ready(), layer.quantized, n0, n1, y, out); break;
      case WeightFormat::kQ4: K.gemm_q4(x.quantized_ready(), layer.quantized, n0, n1, y, out); break;
      case WeightFormat::kFp8: K.gemm_fp8(x.data(), T, layer.quantized, n0, n1, y, out); break;
    }
    if (!layer.bias.empty())
      for (int64_t t = 0; t < T; ++t)
        for (int64_t n = n0; n < n1; ++n) y[t * out + n] += layer.bias[n];
  }
}

bool needs_quantized_input(const Linear& layer) {
  return layer.format == WeightFormat::kQ8 || layer.format == WeightFormat::kQ4;
}

void linear_forward(const Linear& layer, LinearInput& x, float* y, ThreadPool& pool) {
  if (needs_quantized_input(layer)) x.quantized(pool);
  pool.parallel_for(
      layer.out, [&](int64_t r0, int64_t r1, int) { linear_rows(layer, x, r0, r1, y); },
      linear_grain(layer, x.tokens()));
  apply_lora(layer.lora, x.data(), x.tokens(), layer.in, layer.out, x.adapters(), y);
}

void linear_forward(const Linear& layer, const float* x, int64_t tokens, float* y, ThreadPool& pool,
                    const int32_t* adapters) {
  LinearInput in(x, tokens, layer.in, adapters);
  linear_forward(layer, in, y, pool);
}

void repack_linear(Linear* layer, ThreadPool& pool, bool release_plain) {
  const auto& K = kernels::active_kernels();
  const bool q4 = layer->format == WeightFormat::kQ4;
  if (K.repack == nullptr || (layer->format != WeightFormat::kQ8 && !q4)) return;
  const int64_t n = layer->out, k = layer->in, nb = k / kernels::kQBlock;
  auto packed = std::make_shared<std::vector<uint8_t>>(kernels::packed_bytes(q4, n, k));
  // Row groups are independent: split them over the pool.
  const int64_t groups = (n + kernels::kPackRows - 1) / kernels::kPackRows;
  pool.parallel_for(groups, [&](int64_t g0, int64_t g1, int) {
    kernels::QuantizedMatrix part = layer->quantized;
    const int64_t r0 = g0 * kernels::kPackRows, r1 = std::min(n, g1 * kernels::kPackRows);
    part.n = r1 - r0;
    part.data += r0 * (q4 ? kernels::q4_row_bytes(k) : k);
    part.block_scale += r0 * nb;
    K.repack(part, q4, packed->data() + g0 * nb * kernels::packed_block_bytes(q4));
  });
  if (release_plain) {
    if (layer->storage) {
      layer->storage.reset();
    } else {  // mapped from a quantized checkpoint: hand its pages back to the page cache
      release_mapped_pages(layer->quantized.data, static_cast<size_t>(n * (q4 ? kernels::q4_row_bytes(k) : k)));
    }
    layer->quantized.data = nullptr;
    layer->quantized.block_scale = nullptr;
  }
  layer->quantized.packed = packed->data();
  layer->packed = std::move(packed);
}

namespace {

uint8_t f32_to_fp8_e4m3(float v) {
  // Nearest representable e4m3 value, found by search over the 127 positive codes (load time only).
  static const std::vector<float> positive = [] {
    std::vector<float> p(127);
    for (int i = 0; i < 127; ++i) p[i] = kernels::fp8_e4m3_to_f32(static_cast<uint8_t>(i));
    return p;
  }();
  const float a = std::fabs(v);
  const auto it = std::lower_bound(positive.begin(), positive.end(), a);
  int best = static_cast<int>(it - positive.begin());
  if (best >= 127) best = 126;
  if (best > 0 && std::fabs(positive[best - 1] - a) <= std::fabs(positive[best] - a)) --best;
  return static_cast<uint8_t>(best | (v < 0 ? 0x80 : 0));
}

struct Layout {
  size_t data_bytes, scale_bytes;
};

}  // namespace

void quantize_linear(Linear* layer, WeightFormat format, ThreadPool& pool) {
  if (format == WeightFormat::kFloat || layer->format != WeightFormat::kFloat || layer->in % kernels::kQBlock != 0)
    return;
  const int64_t n = layer->out, k = layer->in, nb = k / kernels::kQBlock;
  const Layout lay = format == WeightFormat::kQ4
                         ? Layout{static_cast<size_t>(n * kernels::q4_row_bytes(k)), static_cast<size_t>(n * nb * 2)}
                     : format == WeightFormat::kQ8 ? Layout{static_cast<size_t>(n * k), static_cast<size_t>(n * nb * 2)}
                                                   : Layout{static_cast<size_t>(n * k), static_cast<size_t>(n * 4)};
  // Scales first (4-byte aligned), then the quantized bytes.
  auto storage = std::make_shared<std::vector<uint8_t>>(lay.scale_bytes + lay.data_bytes);
  uint8_t* scales = storage->data();
  uint8_t* data = storage->data() + lay.scale_bytes;
  const TensorView& w = layer->weight;
  const size_t row_bytes = static_cast<size_t>(k) * dtype_size(w.dtype);

  pool.parallel_for(n, [&](int64_t r0, int64_t r1, int) {
    std::vector<float> row(k);
    for (int64_t r = r0; r < r1; ++r) {
      const auto* src = static_cast<const uint8_t*>(w.data) + r * row_bytes;
      for (int64_t i = 0; i < k; ++i) {
        const uint16_t h = reinterpret_cast<const uint16_t*>(src)[i];
        row[i] = w.dtype == DType::kF32 ? reinterpret_cast<const float*>(src)[i]
                                        : (w.dtype == DType::kBF16 ? bf16_to_f32(h) : f16_to_f32(h));
      }
      if (format == WeightFormat::kQ4) {
        auto* bscale = reinterpret_cast<uint16_t*>(scales) + r * nb;
        uint8_t* out = data + r * kernels::q4_row_bytes(k);
        std::vector<uint8_t> q(k);
        for (int64_t b = 0; b < nb; ++b) {
          float amax = 0, maxv = 0;
          for (int64_t i = 0; i < kernels::kQBlock; ++i) {
            const float v = row[b * kernels::kQBlock + i];
            if (std::fabs(v) > amax) {
              amax = std::fabs(v);
              maxv = v;
            }
          }
          // Q4_0-style: the largest-magnitude value maps to -8, using the full signed range.
          const uint16_t hs = f32_to_f16(maxv / -8.0f);
          const float d = f16_to_f32(hs);
          const float inv = d != 0 ? 1.0f / d : 0.0f;
          for (int64_t i = 0; i < kernels::kQBlock; ++i) {
            const int v = static_cast<int>(std::lrintf(row[b * kernels::kQBlock + i] * inv));
            q[b * kernels::kQBlock + i] = static_cast<uint8_t>(std::clamp(v, -8, 7) + 8);
          }
          // the engine keeps scales positive-or-negative as stored: d may be negative
          bscale[b] = hs;
        }
        for (int64_t c = 0; c * kernels::kQChunk < k; ++c) {
          const int64_t elems = std::min<int64_t>(kernels::kQChunk, k - c * kernels::kQChunk);
          const int64_t half = elems / 2;
          for (int64_t j = 0; j < half; ++j)
            out[c * (kernels::kQChunk / 2) + j] =
                static_cast<uint8_t>(q[c * kernels::kQChunk + j] | (q[c * kernels::kQChunk + j + half] << 4));
        }
      } else {
        float amax = 0;
        for (int64_t i = 0; i < k; ++i) amax = std::fmax(amax, std::fabs(row[i]));
        auto* rscale = reinterpret_cast<float*>(scales) + r;
        uint8_t* out = data + r * k;
        if (format == WeightFormat::kQ8) {
          auto* bscale = reinterpret_cast<uint16_t*>(scales) + r * nb;
          for (int64_t b = 0; b < nb; ++b) {
            float bmax = 0;
            for (int64_t i = 0; i < kernels::kQBlock; ++i)
              bmax = std::fmax(bmax, std::fabs(row[b * kernels::kQBlock + i]));
            bscale[b] = f32_to_f16(bmax / 127.0f);
            const float d = f16_to_f32(bscale[b]), inv = d > 0 ? 1.0f / d : 0.0f;
            for (int64_t i = 0; i < kernels::kQBlock; ++i) {
              const int v = static_cast<int>(std::lrintf(row[b * kernels::kQBlock + i] * inv));
              out[b * kernels::kQBlock + i] = static_cast<uint8_t>(std::clamp(v, -127, 127) + 128);
            }
          }
        } else {  // fp8 e4m3: the row's largest magnitude maps to 448, e4m3's maximum
          const float d = amax / 448.0f, inv = d > 0 ? 1.0f / d : 0.0f;
          for (int64_t i = 0; i < k; ++i) out[i] = f32_to_fp8_e4m3(row[i] * inv);
          *rscale = d;
        }
      }
    }
  });

  layer->format = format;
  layer->quantized.n = n;
  layer->quantized.k = k;
  layer->quantized.data = data;
  if (format != WeightFormat::kFp8)
    layer->quantized.block_scale = reinterpret_cast<const uint16_t*>(scales);
  else
    layer->quantized.row_scale = reinterpret_cast<const float*>(scales);
  layer->storage = std::move(storage);
  layer->weight = TensorView();  // the float weight is no longer read
}

}  // namespace wenxin::model
