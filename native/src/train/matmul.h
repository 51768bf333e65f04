// The dense products of the training graph, on the kernel table's GEMM: float32 products of
// activations and LoRA matrices, and the product of a gradient with a frozen weight in any format.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/thread_pool.h"
#include "model/layers/linear.h"

namespace wenxin::train {

// Chunks a thread for the training's loops over rows and elements: the pool's threads claim chunks,
// so when one thread is late (waking, or descheduled on a busy machine) the other takes over most of
// its share instead of finishing its own half and spinning until the late one's half is done.
inline constexpr int kLoopChunks = 8;

// y[rows, n] = alpha · x[rows, k] · w[n, k]ᵀ, added to y when `accumulate`. Both row-major float32.
void matmul_nt(const float* x, int64_t rows, int64_t k, const float* w, int64_t n, float* y, float alpha,
               bool accumulate, ThreadPool& pool);

// out[cols, rows] = in[rows, cols]ᵀ.
void transpose(const float* in, int64_t rows, int64_t cols, float* out, ThreadPool& pool);

// While alive, the products through frozen weights on this thread (linear_forward_train through float
// weights, linear_input_grad through any) run in bf16 when `on`: the activations or gradients rounded to
// bf16 (to nearest even), the weights held (bf16) or rounded to bf16, float32 sums (gemm_panels_bf16:
// vdpbf16ps on AVX-512 BF16, TDPBF16PS on AMX, as PyTorch's bfloat16 models multiply). Off, they are float32-exact.
class Bf16ComputeScope {
 public:
  explicit Bf16ComputeScope(bool on);
  ~Bf16ComputeScope();
  Bf16ComputeScope(const Bf16ComputeScope&) = delete;
  Bf16ComputeScope& operator=(const Bf16ComputeScope&) = delete;

 private:
  bool previous_;
};

// Frozen weights' panels, packed once and kept: a product through a weight it holds (in that direction
// and precision) reads them instead of packing the weight's panels again (dequantizing or widening it)
// in every product of every step; the LM head's products also run a chunk of rows at a time, each of
// which would pack the whole weight again. bf16 panels for bf16 compute (gemm_panels_bf16), float32
// ones for float32 compute (gemm_panels). Used while a KeptPanelsScope names it.
class KeptPanels {
 public:
  KeptPanels();
  ~KeptPanels();
  KeptPanels(const KeptPanels&) = delete;
  KeptPanels& operator=(const KeptPanels&) = delete;

  // Packs W's panels for c = a·Wᵀ (`transposed`: the forward) or c = a·W (the input gradient).
  void add(const model::Linear& w, bool transposed, bool bf16, ThreadPool& pool);

  struct Entry;
  const Entry* find(const model::Linear& w, bool transposed, bool bf16, const ThreadPool& pool) const;

 private:
  std::vector<std::unique_ptr<Entry>> entries_;
};

class KeptPanelsScope {
 public:
  explicit KeptPanelsScope(const KeptPanels* kept);
  ~KeptPanelsScope();
  KeptPanelsScope(const KeptPanelsScope&) = delete;
  KeptPanelsScope& operator=(const KeptPanelsScope&) = delete;

 private:
  const KeptPanels* previous_;
};

// The pair (lo, hi) of bf16 as gemm_panels_bf16 reads it: lo in the low half.
inline uint32_t pair_of(uint16_t lo, uint16_t hi) {
  return static_cast<uint32_t>(lo) | static_cast<uint32_t>(hi) << 16;
}

// Whether products through `w` in this direction and precision read its rows as they are stored (the
// kernel table's gemm_rows_bf16: c = a · Wᵀ through a bf16 weight in bf16 compute), so that no panels of
// it are packed or worth keeping.
bool reads_weight_rows(const model::Linear& w, bool transposed, bool bf16);

// Whether a Bf16ComputeScope is on for this thread (read it on the caller's thread, not in the pool's).
bool bf16_compute();

// y[T, out] = x[T, in] · W[out, in]ᵀ (+ bias) for a frozen layer: float weights (exact float32
// products) through gemm_panels, quantized ones through the inference kernels (model::linear_forward).
void linear_forward_train(const model::Linear& w, model::LinearInput& x, float* y, ThreadPool& pool);

// dx[T, in] = dy[T, out] · W[out, in] (added to dx when `accumulate`) for a frozen linear layer in
// any of its formats: float weights are widened and quantized ones dequantized a block at a time,
// so the weight is never held whole in float32.
void linear_input_grad(const model::Linear& w, const float* dy, int64_t T, float* dx, bool accumulate,
                       ThreadPool& pool);

}  // namespace wenxin::train
