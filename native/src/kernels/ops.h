// What each kernel computes. One portable implementation lives in generic/; per-ISA versions
// (issue: fast CPU inference) implement the same functions and are chosen at run time.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace wenxin::kernels {

// dst[i] = float(src[i]) for a row of `n` elements stored as `type` (F32, F16 or BF16).
void row_to_f32(const void* src, DType type, int64_t n, float* dst);

// Returns sum_i a[i] * b[i].
float dot_f32(const float* a, const float* b, int64_t n);

// y = x / sqrt(mean(x^2) + eps) * w, statistics in float32 as the reference does.
void rmsnorm_f32(const float* x, const float* w, int64_t n, float eps, float* y);

// Returns sum_i a[i] * b[i], the products and their sum in double (four lanes, so that it vectorises).
double dot_f64(const float* a, const float* b, int64_t n);

// 1 / sqrt(mean(x^2) + eps) as rmsnorm_f32 computes it (the squares summed by dot_f64).
float inverse_rms_f32(const float* x, int64_t n, float eps);

// Rotates adjacent pairs (x[2i], x[2i+1]) of each of `n_heads` vectors of `head_dim` by the
// angles whose cos/sin are given per pair (head_dim / 2 values each): interleaved RoPE.
void rope_interleaved_f32(float* x, int64_t n_heads, int64_t head_dim, const float* cos, const float* sin);

// In-place softmax over n values; -inf entries get probability 0.
void softmax_f32(float* x, int64_t n);

// gate[i] = silu(gate[i]) * up[i], through the active kernel table.
void silu_mul_f32(float* gate, const float* up, int64_t n);

// y[i] += a * x[i].
void axpy_f32(float a, const float* x, float* y, int64_t n);

}  // namespace wenxin::kernels
