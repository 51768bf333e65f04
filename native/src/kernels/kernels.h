// The kernel table: every hot op, implemented once per ISA (generic/, avx2/, avx512/) and chosen
// at run time by dispatch.cpp. WENXIN_ISA=generic|avx2|avx512 (x86-64) or neon|dotprod|i8mm
// (AArch64) forces a path (tests run them all).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "kernels/attention_args.h"
#include "kernels/quant_formats.h"

namespace wenxin::kernels {

struct KernelTable {
  const char* name;

  // y[t * ldy + n] = sum_k x[t * k + k'] * W[n][k'] for rows n in [n0, n1) and all t < T.
  // W is F32, F16 or BF16 with rows `w_row_bytes` apart.
  void (*gemm_float)(const float* x, int64_t T, int64_t k, const void* w, DType wt, size_t w_row_bytes, int64_t n0,
                     int64_t n1, float* y, int64_t ldy);

  // Quantizes row `row` of x (k elements) into `out` (already sized).
  void (*quantize_row_q8)(const float* x, int64_t row, QuantizedActivations* out);

  // Same contract as gemm_float, for quantized weights against quantized activations.
  void (*gemm_q8)(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y,
                  int64_t ldy);
  void (*gemm_q4)(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y,
                  int64_t ldy);
  // Re-lays a q8/q4 matrix into this ISA's tiles (`out` holds packed_bytes); nullptr when the ISA
  // reads the plain layout.
  void (*repack)(const QuantizedMatrix& w, bool q4, uint8_t* out);

  // fp8 e4m3 weights against float activations.
  void (*gemm_fp8)(const float* x, int64_t T, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy);

  // Online-softmax attention of one GQA head group over a range of cached positions.
  void (*attention)(const AttentionArgs& args, const AttentionPartial& out);

  float (*dot_f32)(const float* a, const float* b, int64_t n);
  void (*axpy_f32)(float a, const float* x, float* y, int64_t n);

  // out[(r - r0) * (c1 - c0) + c - c0] = the float value of q8/q4 weight (r, c), for rows [r0, r1) and
  // columns [c0, c1) (c0 a multiple of 32), read from this ISA's tiles when `w.packed` is set, else
  // from the plain layout. Training multiplies by the transposed weight through it.
  void (*dequantize)(const QuantizedMatrix& w, bool q4, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* out);
};

// x86-64: avx2, avx512. AArch64: neon (base), dotprod (+ FEAT_DotProd), i8mm (+ FEAT_I8MM).
enum class Isa { kGeneric, kAvx2, kAvx512, kNeon, kNeonDot, kNeonI8mm };

// The table in use: the best the CPU supports, or WENXIN_ISA's choice.
const KernelTable& active_kernels();
// A specific ISA's table, or nullptr when this CPU cannot run it.
const KernelTable* kernels_for(Isa isa);
// The ISAs this CPU can run, best last.
std::vector<Isa> supported_isas();
const char* isa_name(Isa isa);

}  // namespace wenxin::kernels
