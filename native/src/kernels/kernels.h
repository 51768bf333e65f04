// The kernel table: every hot op, implemented once per ISA (generic/, avx2/, avx_vnni/, avx512/, amx/) and
// chosen at run time by dispatch.cpp. WENXIN_ISA=generic|avx2|avxvnni|avx512|amx (x86-64) or
// neon|dotprod|i8mm (AArch64, arm/) forces a path (tests run them all); naming a path this build or CPU cannot run is
// an error (isa_override_error), never a silent fallback. Tables are filled with designated initializers (C++20
// requires them in declaration order), so a swapped or misnamed entry does not compile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "kernels/attention_args.h"
#include "kernels/quant_formats.h"

namespace wenxin::kernels {

// From this many rows of input (prefill), a product lays each block of its weights out once for all of them
// (AMX's tiles; the float32 panels AVX2 and AVX-512 widen bf16 weights into), which enough rows share to be
// cheaper than the per-token kernels. Below it, a row's outputs are bit for bit the same whatever other rows
// share the call: a text embeds, and a sequence decodes, alike alone and in a batch.
inline constexpr int64_t kLayoutTokens = 64;

// Rows of input the x86 tiles take at a time (their activations stay in L1/L2 while each block of weights passes
// them). A product of at most this many rows (the batched decode of concurrent streams) reads each weight once,
// so its tiles fetch the next weights as they go (next_groups_prefetch.h).
inline constexpr int64_t kTokenBlock = 32;

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
  // Re-lays a q8/q4 matrix into this ISA's tiles (`out` holds packed_bytes(table, ...)); nullptr when
  // the ISA reads the plain layout. The tiles hold `pack_rows` rows per group; each (group, 32-element
  // block) takes pack_block_bytes_q8 / _q4 bytes, groups one after another, so a row range that starts
  // on a group boundary can be repacked on its own.
  void (*repack)(const QuantizedMatrix& w, bool q4, uint8_t* out);
  int64_t pack_rows;
  int64_t pack_block_bytes_q8;
  int64_t pack_block_bytes_q4;

  // fp8 e4m3 weights against float activations.
  void (*gemm_fp8)(const float* x, int64_t T, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy);

  // Online-softmax attention of one GQA head group over a range of cached positions.
  void (*attention)(const AttentionArgs& args, const AttentionPartial& out);
  // About how many query rows (a run's tokens × the group's heads) one attention call should take in
  // prefill: every key the call loads (and, on AMX, splits and lays out) serves them all.
  int64_t attention_rows = 128;

  float (*dot_f32)(const float* a, const float* b, int64_t n);
  void (*axpy_f32)(float a, const float* x, float* y, int64_t n);

  // out[(r - r0) * (c1 - c0) + c - c0] = the float value of q8/q4 weight (r, c), for rows [r0, r1) and
  // columns [c0, c1) (c0 a multiple of 32), read from this ISA's tiles when `w.packed` is set, else
  // from the plain layout. Training multiplies by the transposed weight through it.
  void (*dequantize)(const QuantizedMatrix& w, bool q4, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* out);

  // Whether `repack` makes q4 tiles of kernels/interleaved_tiles.h with pack_rows rows (so a checkpoint
  // saved in such tiles is read in place by every table with the same pack_rows).
  bool interleaved_q4_tiles = false;

  // Training's float32 products: c[i * ldc + j] += Σ_p a[i * lda + p] · B[p][j] for i < m, j < n, p < k,
  // with B packed as ceil(n / kGemmPanel) panels one after another, each [k][kGemmPanel] (columns past
  // n zero). train/matmul.cpp packs B from a weight in any format, either orientation.
  void (*gemm_panels)(const float* a, int64_t lda, int64_t m, int64_t k, const float* b, int64_t n, float* c,
                      int64_t ldc);

  // Training's bf16 products (the trainer's bf16 compute): c[i * ldc + j] = Σ_p a[i * lda + p] · B[p][j]
  // (added to c when `accumulate`; else c's old values are never read) for i < m, j < n, p < 2 · kp, with a
  // in bf16 (lda even) and B packed as ceil(n / kGemmPanel) panels one after another, each
  // [kp][kGemmPanel][2]: the pair (B[2q][j], B[2q + 1][j]) at [q][j] (entries past k and columns past n
  // zero). Each product of two bf16 is exact in float32; the sums are float32 (as AVX-512 BF16's
  // vdpbf16ps, which the paths with it use; the others widen and add the same products).
  void (*gemm_panels_bf16)(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* b, int64_t n,
                           float* c, int64_t ldc, bool accumulate);

  // bf16 products through a bf16 weight as it is stored (training's forward in bf16 compute; prefill through
  // bf16 weights where the table has split_bf16), without panels of W kept: c[i * ldc + j] = Σ_p a[i * lda + p]
  // · W[j][p] (added to c when `accumulate`; else c's old values are never read) for i < m, j < n, p < 2 · kp,
  // with a in bf16 (lda even) and W's rows `ldw` apart. AVX-512 and AMX; nullptr on the paths that multiply
  // through W's panels (train/matmul.cpp packs or keeps them).
  void (*gemm_rows_bf16)(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* w, int64_t ldw,
                         int64_t n, float* c, int64_t ldc, bool accumulate) = nullptr;
  // The same through a q8/q4 weight in this table's tiles (`w.packed`, w.k a multiple of 32, kp = w.k / 2),
  // each weight rounded to bf16 from its exact float value: c[i * ldc + j − n0] for W's rows j in [n0, n1),
  // n0 a multiple of pack_rows. Prefill multiplies through it (model/layers/linear.cpp) where the table has
  // it: AMX, whose tiles outrun the int8 products; nullptr elsewhere.
  void (*gemm_rows_quantized_bf16)(const uint16_t* a, int64_t lda, int64_t m, const QuantizedMatrix& w, bool q4,
                                   int64_t n0, int64_t n1, float* c, int64_t ldc, bool accumulate) = nullptr;

  // hi[i] = x[i] rounded to bf16 (round_bf16's), lo[i] = x[i] − hi[i] (exact in float32) rounded to bf16:
  // the two parts of x that prefill's products through a bf16 weight take in turn, through gemm_rows_bf16.
  // AMX only: with two products per pair, vdpbf16ps is no faster than float32 FMAs.
  void (*split_bf16)(const float* x, uint16_t* hi, uint16_t* lo, int64_t n) = nullptr;

  // y[i] = x[i] rounded to bf16 (to nearest even; a NaN stays a quiet NaN): f32_to_bf16 of core/dtype.h,
  // bit for bit. Training rounds its activations and gradients to bf16 through it.
  void (*round_bf16)(const float* x, uint16_t* y, int64_t n);

  // y[i] = e^x[i] (y may be x): the attention kernels' exp, within ~2e-7 relative; exactly 0 below ~-87
  // and at -inf. Training's softmaxes (attention, LM head) use it.
  void (*exp_f32)(const float* x, float* y, int64_t n);

  // gate[i] = silu(gate[i]) · up[i] (the gated MLP's activation), through exp_f32.
  void (*silu_mul_f32)(float* gate, const float* up, int64_t n);
  // Its gradient, from the activation's (dact): dup[i] and dgate[i] (training's backward).
  void (*silu_mul_grad_f32)(const float* gate, const float* up, const float* dact, float* dgate, float* dup, int64_t n);

  // A softmax's passes over n ≥ 1 values (training's attention and LM head): the largest of x, then
  // y[i] = e^(scale·x[i] − shift) through exp_f32 (y may be x), returning Σ y[i] (summed in double lanes).
  float (*max_f32)(const float* x, int64_t n);
  double (*exp_sum_f32)(const float* x, float scale, float shift, float* y, int64_t n);

  // How the trainer blocks gemm_panels_bf16's products (train/matmul.cpp): 0, as deep as ~384 KB of
  // panels allows (the whole of k for the layers; few columns a block for the LM head's input gradient);
  // else at most this many pairs deep and up to 256 columns wide. The paths that widen the pairs to
  // float32 per call (AVX2) widen each block of `a` once per column block: wide blocks amortise it.
  int64_t panels_bf16_depth = 0;
};

// Columns of one gemm_panels panel.
inline constexpr int64_t kGemmPanel = 32;

// Bytes of one (group, block) tile and of a whole n × k matrix in `t`'s repacked layout.
inline int64_t packed_block_bytes(const KernelTable& t, bool q4) {
  return q4 ? t.pack_block_bytes_q4 : t.pack_block_bytes_q8;
}
inline int64_t packed_bytes(const KernelTable& t, bool q4, int64_t n, int64_t k) {
  return (n + t.pack_rows - 1) / t.pack_rows * (k / kQBlock) * packed_block_bytes(t, q4);
}

// Best last among the paths one CPU family can run.
// x86-64: avx2, avxvnni, avx512, amx. AArch64: neon (base), dotprod (+ FEAT_DotProd), i8mm (+ FEAT_I8MM).
enum class Isa { kGeneric, kAvx2, kAvxVnni, kAvx512, kAmx, kNeon, kNeonDot, kNeonI8mm };

// Empty when WENXIN_ISA is unset or names a path this build and CPU can run; else why not (the name,
// the known paths, the ones this CPU runs and its features). Engine creation reports it as
// ERR_WENXIN_UNSUPPORTED_ISA before anything is loaded.
std::string isa_override_error();
// The table in use: the best the CPU supports, or WENXIN_ISA's choice. Aborts with
// isa_override_error() when that choice cannot run: callers that take user input check it first.
const KernelTable& active_kernels();
// A specific ISA's table, or nullptr when this CPU cannot run it.
const KernelTable* kernels_for(Isa isa);
// The ISAs this CPU can run, best last.
std::vector<Isa> supported_isas();
// Every ISA this build knows, CPU or not.
std::vector<Isa> known_isas();
const char* isa_name(Isa isa);

}  // namespace wenxin::kernels
