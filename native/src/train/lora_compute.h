// A LoRA term of the training graph, y += s · B(A(dropout(x))), split where a fused parameter
// needs it: lora_down makes u = dropout(x)·Aᵀ once, lora_up adds s·u·Bᵀ for a block of B's rows
// (gate and up share one A in a fused gate_up_proj). Dropout (PEFT's, on the LoRA input only) is a
// counter-based hash of (seed, stream, token, column), so a recomputed layer drops the same
// elements and no mask is stored.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "train/lora_param.h"

namespace wenxin::train {

// Where a batch's dropout comes from: its seed and, per row of x, the token's index in the batch.
struct DropoutKey {
  uint64_t seed = 0;
  const int32_t* tokens = nullptr;  // nullptr: row t is token t
  bool enabled = true;              // off when evaluating
};

// u[T, rank] = dropout(x)[T, in] · Aᵀ.
void lora_down(const LoraView& v, const float* x, int64_t T, int64_t in, const DropoutKey& key, float* u,
               ThreadPool& pool);
// y[T, out] += s · u · B[b_row0 .. b_row0 + out)ᵀ.
void lora_up(const LoraView& v, const float* u, int64_t T, int64_t b_row0, int64_t out, float* y, ThreadPool& pool);
// Backward of lora_up: grad_B[rows] += s · dyᵀ · u, and du[T, rank] += s · dy · B[rows].
void lora_up_backward(const LoraView& v, const float* dy, const float* u, int64_t T, int64_t b_row0, int64_t out,
                      float* du, ThreadPool& pool);
// Backward of lora_down: grad_A += duᵀ · dropout(x), and (when dx is set) dx += dropout'(du · A).
void lora_down_backward(const LoraView& v, const float* du, const float* x, int64_t T, int64_t in,
                        const DropoutKey& key, float* dx, ThreadPool& pool);

}  // namespace wenxin::train
