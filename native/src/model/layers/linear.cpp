#include "model/layers/linear.h"

#include <algorithm>
#include <cstring>

#include "core/mapped_file.h"
#include "kernels/kernels.h"
#include "kernels/ops.h"
#include "kernels/quantize_weights.h"

namespace wenxin::model {

namespace {

// Input buffers given back by finished LinearInputs of this thread, reused (with their capacity) by the
// next ones. A few are live at once (q/k/v's input, gate/up's, down's); MoE layers make one per expert, so
// only the first kSpareInputs of each kind are kept.
template <class Buffer>
class SpareBuffers {
 public:
  std::unique_ptr<Buffer> take() {
    if (spare_.empty()) return std::make_unique<Buffer>();
    std::unique_ptr<Buffer> b = std::move(spare_.back());
    spare_.pop_back();
    return b;
  }
  void give_back(std::unique_ptr<Buffer>& b) {
    if (b && spare_.size() < kSpareInputs) spare_.push_back(std::move(b));
  }

 private:
  static constexpr size_t kSpareInputs = 8;
  std::vector<std::unique_ptr<Buffer>> spare_;
};
thread_local SpareBuffers<kernels::QuantizedActivations> spare_quantized;
thread_local SpareBuffers<aligned_vector<uint16_t>> spare_bf16;

// A batched decode's few rows (16 × 1024: a few µs) on the calling thread: a parallel loop's barrier
// costs about as much, and more when the other thread is descheduled holding its half.
template <class Rows>
void for_input_rows(int64_t tokens, int64_t k, ThreadPool& pool, const Rows& rows) {
  if (tokens * k <= (int64_t{1} << 16))
    rows(0, tokens, 0);
  else
    pool.parallel_for(tokens, rows);
}

}  // namespace

LinearInput::~LinearInput() {
  spare_quantized.give_back(q_);
  spare_bf16.give_back(bf16_);
}

const kernels::QuantizedActivations& LinearInput::quantized(ThreadPool& pool) {
  if (!ready_) {
    if (!q_) q_ = spare_quantized.take();
    q_->resize(tokens_, k_);
    kernels::QuantizedActivations* q = q_.get();
    const auto& K = kernels::active_kernels();
    for_input_rows(tokens_, k_, pool, [&](int64_t b, int64_t e, int) {
      for (int64_t t = b; t < e; ++t) K.quantize_row_q8(x_ + t * k_, t, q);
    });
    ready_ = true;
  }
  return *q_;
}

const uint16_t* LinearInput::bf16_rows(ThreadPool& pool, bool remainder) {
  if (!bf16_ready_ || (remainder && !remainder_ready_)) {
    if (!bf16_) bf16_ = spare_bf16.take();
    const int64_t n = tokens_ * k_;
    bf16_->resize(static_cast<size_t>(remainder ? 2 * n : n));
    uint16_t* rows = bf16_->data();
    const auto& K = kernels::active_kernels();
    for_input_rows(tokens_, k_, pool, [&](int64_t b, int64_t e, int) {
      if (remainder)
        K.split_bf16(x_ + b * k_, rows + b * k_, rows + n + b * k_, (e - b) * k_);
      else
        K.round_bf16(x_ + b * k_, rows + b * k_, (e - b) * k_);
    });
    bf16_ready_ = true;
    remainder_ready_ = remainder;
  }
  return bf16_rows_ready();
}

void LinearInput::prepare(const Linear& layer, ThreadPool& pool) {
  if (multiplies_on_tiles(layer, tokens_))
    bf16_rows(pool, layer.format == WeightFormat::kFloat);
  else if (layer.format == WeightFormat::kQ8 || layer.format == WeightFormat::kQ4)
    quantized(pool);
}

bool multiplies_on_tiles(const Linear& layer, int64_t tokens) {
  if (tokens < kernels::kLayoutTokens) return false;
  const auto& K = kernels::active_kernels();
  switch (layer.format) {
    case WeightFormat::kFloat:
      return K.split_bf16 != nullptr && K.gemm_rows_bf16 != nullptr && layer.weight.dtype == DType::kBF16 &&
             layer.in % 2 == 0;
    case WeightFormat::kQ8:
    case WeightFormat::kQ4: return K.gemm_rows_quantized_bf16 != nullptr && layer.quantized.packed != nullptr;
    default: return false;
  }
}

int64_t weight_row_bytes(const Linear& layer) {
  return layer.format == WeightFormat::kQ4      ? layer.in / 2 + layer.in / 16
         : layer.format == WeightFormat::kFloat ? layer.in * static_cast<int64_t>(dtype_size(layer.weight.dtype))
                                                : layer.in + layer.in / 16;
}

void linear_rows(const Linear& layer, LinearInput& x, int64_t r0, int64_t r1, float* y) {
  const auto& K = kernels::active_kernels();
  const int64_t T = x.tokens(), out = layer.out, k = layer.in;
  if (multiplies_on_tiles(layer, T)) {  // the kernels block the rows for the cache themselves
    const uint16_t* xb = x.bf16_rows_ready();
    if (layer.format == WeightFormat::kFloat) {  // x's bf16 part, then its remainder: ~16 significant bits of x
      const auto* w = static_cast<const uint16_t*>(layer.weight.data) + r0 * k;
      K.gemm_rows_bf16(xb, k, T, k / 2, w, k, r1 - r0, y + r0, out, false);
      K.gemm_rows_bf16(xb + T * k, k, T, k / 2, w, k, r1 - r0, y + r0, out, true);
    } else {
      K.gemm_rows_quantized_bf16(xb, k, T, layer.quantized, layer.format == WeightFormat::kQ4, r0, r1, y + r0, out,
                                 false);
    }
  } else {
    // With many tokens, walk the rows in blocks whose weights fit in L2 and stream every token past
    // each block; otherwise the whole matrix would be re-read from memory per group of tokens.
    const int64_t row_bytes = weight_row_bytes(layer);
    const int64_t block_rows =
        T == 1 ? out : std::max<int64_t>(32, (192 * 1024 / std::max<int64_t>(1, row_bytes)) / 32 * 32);
    for (int64_t n0 = r0; n0 < r1; n0 += block_rows) {
      const int64_t n1 = std::min(r1, n0 + block_rows);
      switch (layer.format) {
        case WeightFormat::kFloat:
          K.gemm_float(x.data(), T, k, layer.weight.data, layer.weight.dtype,
                       static_cast<size_t>(k) * dtype_size(layer.weight.dtype), n0, n1, y, out);
          break;
        case WeightFormat::kQ8: K.gemm_q8(x.quantized_ready(), layer.quantized, n0, n1, y, out); break;
        case WeightFormat::kQ4: K.gemm_q4(x.quantized_ready(), layer.quantized, n0, n1, y, out); break;
        case WeightFormat::kFp8: K.gemm_fp8(x.data(), T, layer.quantized, n0, n1, y, out); break;
      }
    }
  }
  if (!layer.bias.empty())
    for (int64_t t = 0; t < T; ++t)
      for (int64_t n = r0; n < r1; ++n) y[t * out + n] += layer.bias[n];
}

void linear_forward(const Linear& layer, LinearInput& x, float* y, ThreadPool& pool) {
  x.prepare(layer, pool);
  pool.parallel_for(
      layer.out, [&](int64_t r0, int64_t r1, int) { linear_rows(layer, x, r0, r1, y); },
      linear_grain(layer, x.tokens()), linear_chunks(layer.out * weight_row_bytes(layer), pool.size(), x.tokens()));
  apply_lora(layer.lora, x.data(), x.tokens(), layer.in, layer.out, x.adapters(), y);
}

void linear_forward_fused(const std::vector<LinearOutput>& outputs, LinearInput& x, ThreadPool& pool) {
  int64_t grain = 1, bytes = 0;
  for (const LinearOutput& o : outputs) {
    x.prepare(*o.layer, pool);
    grain = std::max(grain, linear_grain(*o.layer, x.tokens()));  // powers of two: a multiple of each
    bytes += o.layer->out * weight_row_bytes(*o.layer);
  }
  std::vector<int64_t> begin;  // each layer's first row in the loop's row space
  int64_t rows = 0;
  for (const LinearOutput& o : outputs) {
    begin.push_back(rows);
    rows += (o.layer->out + grain - 1) / grain * grain;
  }
  pool.parallel_for(
      rows,
      [&](int64_t r0, int64_t r1, int) {
        for (size_t i = 0; i < outputs.size(); ++i) {
          const int64_t a = std::max(r0, begin[i]) - begin[i],
                        b = std::min(r1, begin[i] + outputs[i].layer->out) - begin[i];
          if (a < b) linear_rows(*outputs[i].layer, x, a, b, outputs[i].y);
        }
      },
      grain, linear_chunks(bytes, pool.size(), x.tokens()));
  for (const LinearOutput& o : outputs)
    apply_lora(o.layer->lora, x.data(), x.tokens(), o.layer->in, o.layer->out, x.adapters(), o.y);
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
  if (layer->quantized.packed != nullptr) return;  // mapped from a checkpoint saved in these tiles
  const int64_t n = layer->out, k = layer->in, nb = k / kernels::kQBlock;
  std::shared_ptr<uint8_t> packed = allocate_weight_buffer(kernels::packed_bytes(K, q4, n, k));  // huge pages
  // Row groups are independent: split them over the pool.
  const int64_t rows = K.pack_rows, groups = (n + rows - 1) / rows;
  pool.parallel_for(groups, [&](int64_t g0, int64_t g1, int) {
    kernels::QuantizedMatrix part = layer->quantized;
    const int64_t r0 = g0 * rows, r1 = std::min(n, g1 * rows);
    part.n = r1 - r0;
    part.data += r0 * (q4 ? kernels::q4_row_bytes(k) : k);
    part.block_scale += r0 * nb;
    K.repack(part, q4, packed.get() + g0 * nb * kernels::packed_block_bytes(K, q4));
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
  layer->quantized.packed = packed.get();
  layer->packed = std::move(packed);
}

void quantize_linear(Linear* layer, WeightFormat format, ThreadPool& pool) {
  if (format == WeightFormat::kFloat || layer->format != WeightFormat::kFloat || layer->in % kernels::kQBlock != 0)
    return;
  const int64_t n = layer->out, k = layer->in, nb = k / kernels::kQBlock;
  const int64_t row_bytes = format == WeightFormat::kQ4 ? kernels::q4_row_bytes(k) : k;
  const int64_t scale_bytes = format == WeightFormat::kFp8 ? n * 4 : n * nb * 2;
  // Scales first (4-byte aligned), then the quantized bytes.
  auto storage = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(scale_bytes + n * row_bytes));
  uint8_t* scales = storage->data();
  uint8_t* data = storage->data() + scale_bytes;
  const TensorView& w = layer->weight;
  const size_t src_row_bytes = static_cast<size_t>(k) * dtype_size(w.dtype);
  pool.parallel_for(n, [&](int64_t r0, int64_t r1, int) {
    std::vector<float> row(k);
    for (int64_t r = r0; r < r1; ++r) {
      kernels::row_to_f32(static_cast<const uint8_t*>(w.data) + r * src_row_bytes, w.dtype, k, row.data());
      uint8_t* out = data + r * row_bytes;
      if (format == WeightFormat::kQ8)
        kernels::quantize_weight_row_q8(row.data(), k, reinterpret_cast<uint16_t*>(scales) + r * nb, out);
      else if (format == WeightFormat::kQ4)
        kernels::quantize_weight_row_q4(row.data(), k, reinterpret_cast<uint16_t*>(scales) + r * nb, out);
      else
        kernels::quantize_weight_row_fp8(row.data(), k, reinterpret_cast<float*>(scales) + r, out);
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
