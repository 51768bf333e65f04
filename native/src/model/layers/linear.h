// A linear layer: its weight either stays in the checkpoint's memory map (F32, F16, BF16) or is
// quantized once at load into the kernels' block layouts (q8, q4, fp8).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/aligned_vector.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/quant_formats.h"
#include "model/layers/lora.h"
#include "wenxin/engine_options.h"

namespace wenxin::model {

struct Linear {
  std::string name;  // the checkpoint's module name ("model.layers.0.self_attn.q_proj")
  WeightFormat format = WeightFormat::kFloat;
  TensorView weight;                                    // kFloat: [out, in], PyTorch layout
  kernels::QuantizedMatrix quantized;                   // the other formats
  std::shared_ptr<const std::vector<uint8_t>> storage;  // owns the quantized bytes and scales
  std::shared_ptr<const uint8_t> packed;                // the active ISA's tiles, when it has its own layout
  std::vector<float> bias;                              // empty when the layer has none
  std::vector<LoraSlot> lora;                           // loaded adapters' deltas for this layer
  int64_t out = 0;
  int64_t in = 0;
};

// One step's input rows, quantized at most once however many layers read them (q/k/v, gate/up).
class LinearInput {
 public:
  // `adapters`: per token, the LoRA adapter id of its request (-1 or nullptr: none).
  LinearInput(const float* x, int64_t tokens, int64_t k, const int32_t* adapters = nullptr)
      : x_(x), tokens_(tokens), k_(k), adapters_(adapters) {}
  ~LinearInput();
  LinearInput(const LinearInput&) = delete;
  LinearInput& operator=(const LinearInput&) = delete;
  const int32_t* adapters() const { return adapters_; }
  const float* data() const { return x_; }
  int64_t tokens() const { return tokens_; }
  const kernels::QuantizedActivations& quantized(ThreadPool& pool);
  const kernels::QuantizedActivations& quantized_ready() const { return *q_; }
  // The rows rounded to bf16 (to nearest even), made at most once; with `remainder`, followed (tokens × k
  // values on) by what rounding left, x − bf16(x), itself in bf16 (the table's split_bf16).
  const uint16_t* bf16_rows(ThreadPool& pool, bool remainder = false);
  const uint16_t* bf16_rows_ready() const { return bf16_->data(); }
  // Makes what `layer`'s products read of this input (int8 rows, bf16 rows, or the float rows as they are).
  void prepare(const Linear& layer, ThreadPool& pool);

 private:
  const float* x_;
  int64_t tokens_, k_;
  const int32_t* adapters_;
  bool ready_ = false;
  // Taken from (and given back to) the constructing thread's spare buffers: a 512-token prefill
  // quantizes ~11 MB of activations per layer, and fresh buffers that size are mapped, zeroed and
  // page-faulted in again every time.
  std::unique_ptr<kernels::QuantizedActivations> q_;
  bool bf16_ready_ = false, remainder_ready_ = false;
  std::unique_ptr<aligned_vector<uint16_t>> bf16_;  // the same for the bf16 rows
};

// y[T, out] = x[T, in] · W^T (+ b). Work is split over output rows.
void linear_forward(const Linear& layer, LinearInput& x, float* y, ThreadPool& pool);

// Several layers over the same input (attention's q, k and v) in one parallel loop over their rows laid
// end to end, each layer's block starting on a whole grain so tiles stay whole: one barrier instead of one
// per layer, and the small layers (k, v) share threads with the large one. The same products as
// linear_forward per layer.
struct LinearOutput {
  const Linear* layer;
  float* y;
};
void linear_forward_fused(const std::vector<LinearOutput>& outputs, LinearInput& x, ThreadPool& pool);

// The same for output rows [n0, n1) only, on the calling thread (for fused ops that split rows
// themselves). `x` must already be prepared for the layer (LinearInput::prepare).
void linear_rows(const Linear& layer, LinearInput& x, int64_t n0, int64_t n1, float* y);

// Whether `layer`'s products over `tokens` rows of input run on tiles (the table's gemm_rows_bf16 with
// split_bf16, and gemm_rows_quantized_bf16: AMX), against the input in bf16: q8/q4 weights through their tiles decoded
// to bf16, x rounded to bf16 (finer than the int8 activations of the other paths); bf16 weights as stored, against x's
// bf16 part and then its remainder (x − bf16(x), in bf16), so that the sums keep ~16 significant bits of x where one
// bf16 product would keep 8. From kernels::kLayoutTokens rows.
bool multiplies_on_tiles(const Linear& layer, int64_t tokens);

// Rows per work item that keep whole register tiles for `tokens` rows of input.
inline int64_t linear_grain(const Linear& layer, int64_t tokens) {
  if (layer.quantized.packed || multiplies_on_tiles(layer, tokens)) return tokens == 1 ? 64 : 32;
  return tokens == 1 ? 8 : 4;
}

// Bytes of weights per output row (the kernels' own layout, scales included).
int64_t weight_row_bytes(const Linear& layer);

// Chunks per thread (ThreadPool::parallel_for) for a loop over `bytes` of weights and `tokens` rows of
// input. One token (decode): up to 4, so that a thread that starts late (a busy machine) leaves most of
// its share to the others, while each chunk keeps at least 1 MB of weights (long sequential streams for
// the decode GEMVs). A batched decode of 2..kTokenBlock tokens reuses a chunk's weights for every token,
// so chunks are sized by work (1 MB × tokens), up to 4 per thread: its tiles fetch the next row groups'
// weights while they compute (kernels/next_groups_prefetch.h), but a chunk's first groups wait on memory,
// which at 16 chunks a thread came every few groups (16 q8 streams on Zen 5, 16 -> 4: avx512 ~840 -> ~890
// tok/s, avx-vnni ~545 -> ~567, avx2 ~372 -> ~383). Prefill (more tokens) is sized as kTokenBlock tokens,
// up to 8 chunks per thread: its loops are a few ms each, and with one chunk per thread a thread
// descheduled for part of one (a busy machine) held up the whole loop (the AVX2 q8 tile's per-call |x|,
// which once made calls costly, is made at quantization).
inline int linear_chunks(int64_t bytes, int threads, int64_t tokens = 1) {
  const bool batched = tokens > 1 && tokens <= kernels::kTokenBlock;
  const int64_t per =
      bytes * std::min<int64_t>(tokens, kernels::kTokenBlock) / (std::max(1, threads) * (int64_t{1} << 20));
  return static_cast<int>(std::clamp<int64_t>(per, 1, batched ? 4 : tokens > kernels::kTokenBlock ? 8 : 4));
}

// Re-lays a q8/q4 layer into the active ISA's tiles, if it has any. The plain layout stays
// available for saving; `release_plain` frees it (or drops its mapped pages) when nothing will.
void repack_linear(Linear* layer, ThreadPool& pool, bool release_plain);
void linear_forward(const Linear& layer, const float* x, int64_t tokens, float* y, ThreadPool& pool,
                    const int32_t* adapters = nullptr);

// Quantizes `layer.weight` (kFloat) into `format`, in parallel. Inner sizes not a multiple of 32
// stay in float: the block formats need whole blocks.
void quantize_linear(Linear* layer, WeightFormat format, ThreadPool& pool);

}  // namespace wenxin::model
