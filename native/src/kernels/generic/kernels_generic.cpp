// Portable reference kernels. Integer dot products are exact, so every ISA agrees with these up to
// the order of float additions.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/generic/generic.h"
#include "kernels/ops.h"

namespace wenxin::kernels {

float fp8_e4m3_to_f32(uint8_t v) {
  const float sign = (v & 0x80) ? -1.0f : 1.0f;
  const int exp = (v >> 3) & 0x0F;
  const int mant = v & 0x07;
  if (exp == 0x0F && mant == 0x07) return std::nanf("");
  if (exp == 0) return sign * std::ldexp(static_cast<float>(mant) / 8.0f, -6);
  return sign * std::ldexp(1.0f + static_cast<float>(mant) / 8.0f, exp - 7);
}

}  // namespace wenxin::kernels

namespace wenxin::kernels::generic {

namespace {

#include "kernels/attention_impl.inc"

// The scalar building blocks are kernels/ops.h's portable ones.
void widen_row(const void* src, DType t, int64_t n, float* dst) { row_to_f32(src, t, n, dst); }
float dot(const float* a, const float* b, int64_t n) { return dot_f32(a, b, n); }

float max_value(const float* x, int64_t n) {
  float m = x[0];
  for (int64_t i = 1; i < n; ++i) m = m < x[i] ? x[i] : m;
  return m;
}
void axpy(float a, const float* x, float* y, int64_t n) { axpy_f32(a, x, y, n); }

void gemm_float(const float* x, int64_t T, int64_t k, const void* w, DType wt, size_t w_row_bytes, int64_t n0,
                int64_t n1, float* y, int64_t ldy) {
  std::vector<float> row(k);
  for (int64_t n = n0; n < n1; ++n) {
    widen_row(static_cast<const uint8_t*>(w) + n * w_row_bytes, wt, k, row.data());
    for (int64_t t = 0; t < T; ++t) y[t * ldy + n] = dot(x + t * k, row.data(), k);
  }
}

void quantize_row_q8(const float* x, int64_t row, QuantizedActivations* out) {
  const int64_t k = out->k;
  int8_t* q = out->q.data() + row * k;
  float* scale = out->scale.data() + row * out->blocks();
  for (int64_t b = 0; b < out->blocks(); ++b) {
    const float* xb = x + b * kQBlock;
    float amax = 0;
    for (int64_t i = 0; i < kQBlock; ++i) amax = std::fmax(amax, std::fabs(xb[i]));
    const float d = amax / 127.0f;
    const float inv = d > 0 ? 1.0f / d : 0.0f;
    for (int64_t i = 0; i < kQBlock; ++i) q[b * kQBlock + i] = static_cast<int8_t>(std::lrintf(xb[i] * inv));
    scale[b] = d;
  }
  finish_quantized_row(out, row);
}

// Exact integer dot of one block of signed weights with one block of activations.
int32_t block_dot(const int8_t* w, const int8_t* x, int64_t n) {
  int32_t s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<int32_t>(w[i]) * x[i];
  return s;
}

// Signed weights of one q8 row (stored + 128).
void unpack_q8_row(const QuantizedMatrix& w, int64_t n, int8_t* out) {
  const uint8_t* wr = w.data + n * w.k;
  for (int64_t i = 0; i < w.k; ++i) out[i] = static_cast<int8_t>(static_cast<int32_t>(wr[i]) - 128);
}

// Signed weights of one q4 row (packed nibbles + 8).
void unpack_q4_row(const QuantizedMatrix& w, int64_t n, int8_t* out) {
  const uint8_t* wr = w.data + n * q4_row_bytes(w.k);
  for (int64_t c = 0; c * kQChunk < w.k; ++c) {
    const int64_t elems = w.k - c * kQChunk >= kQChunk ? kQChunk : w.k - c * kQChunk;
    unpack_q4_chunk(wr + c * (kQChunk / 2), elems, out + c * kQChunk);
  }
}

// Block-scaled int8 GEMM over rows unpacked by `unpack` (both formats share the per-block math).
template <void (*Unpack)(const QuantizedMatrix&, int64_t, int8_t*)>
void gemm_blocks(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y,
                 int64_t ldy) {
  const int64_t k = x.k, nb = x.blocks();
  std::vector<int8_t> ws(k);
  for (int64_t n = n0; n < n1; ++n) {
    Unpack(w, n, ws.data());
    const uint16_t* sw = w.block_scale + n * nb;
    for (int64_t t = 0; t < x.rows; ++t) {
      const int8_t* xq = x.q.data() + t * k;
      const float* sx = x.scale.data() + t * nb;
      float acc = 0;
      for (int64_t b = 0; b < nb; ++b)
        acc += f16_to_f32(sw[b]) * sx[b] *
               static_cast<float>(block_dot(ws.data() + b * kQBlock, xq + b * kQBlock, kQBlock));
      y[t * ldy + n] = acc;
    }
  }
}

void gemm_q8(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  gemm_blocks<unpack_q8_row>(x, w, n0, n1, y, ldy);
}

void gemm_q4(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  gemm_blocks<unpack_q4_row>(x, w, n0, n1, y, ldy);
}

}  // namespace

void finish_quantized_row(QuantizedActivations* out, int64_t row) {
  const int64_t k = out->k, nb = out->blocks();
  const int8_t* q = out->q.data() + row * k;
  const float* scale = out->scale.data() + row * nb;
  float* bsum = out->block_sum.data() + row * nb;
  int8_t* abs_q = out->abs_q.data() + row * k;
  for (int64_t i = 0; i < k; ++i) abs_q[i] = static_cast<int8_t>(q[i] < 0 ? -q[i] : q[i]);  // |q| <= 127
  float total = 0;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t s = 0;
    for (int64_t i = 0; i < kQBlock; ++i) s += q[b * kQBlock + i];
    out->block_isum[row * nb + b] = s;
    bsum[b] = scale[b] * static_cast<float>(s);
    total += bsum[b];
  }
  out->total_sum[row] = total;
  int32_t* lanes = out->lane_sum.data() + row * out->chunks() * 16;
  for (int64_t c = 0; c < out->chunks(); ++c)
    for (int64_t lane = 0; lane < 16; ++lane) {
      int32_t s = 0;
      for (int64_t i = 0; i < 4; ++i) {
        const int64_t idx = c * kQChunk + lane * 4 + i;
        if (idx < k) s += q[idx];
      }
      lanes[c * 16 + lane] = s;
    }
  float* x16 = out->scale_x16.data() + row * out->chunks() * 16;
  for (int64_t c = 0; c < out->chunks(); ++c) {
    const float a = scale[2 * c];
    const float b = 2 * c + 1 < nb ? scale[2 * c + 1] : 0.0f;
    for (int i = 0; i < 8; ++i) {
      x16[c * 16 + i] = a;
      x16[c * 16 + 8 + i] = b;
    }
  }
}

void gemm_fp8(const float* x, int64_t T, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  static const std::vector<float> lut = [] {
    std::vector<float> t(256);
    for (int i = 0; i < 256; ++i) t[i] = fp8_e4m3_to_f32(static_cast<uint8_t>(i));
    return t;
  }();
  const int64_t k = w.k;
  std::vector<float> row(k);
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* wr = w.data + n * k;
    for (int64_t i = 0; i < k; ++i) row[i] = lut[wr[i]];
    for (int64_t t = 0; t < T; ++t) y[t * ldy + n] = dot(x + t * k, row.data(), k) * w.row_scale[n];
  }
}

void dequantize(const QuantizedMatrix& w, bool q4, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* out) {
  const int64_t cols = c1 - c0, nb = w.k / kQBlock;
  std::vector<int8_t> q(w.k);
  for (int64_t r = r0; r < r1; ++r) {
    if (q4)
      unpack_q4_row(w, r, q.data());
    else
      unpack_q8_row(w, r, q.data());
    float* o = out + (r - r0) * cols;
    for (int64_t c = c0; c < c1; ++c)
      o[c - c0] = static_cast<float>(q[c]) * f16_to_f32(w.block_scale[r * nb + c / kQBlock]);
  }
}

#include "kernels/silu_mul.inc"
#include "kernels/softmax_passes.inc"

const KernelTable kTable = {
    .name = "generic",
    .gemm_float = gemm_float,
    .quantize_row_q8 = quantize_row_q8,
    .gemm_q8 = gemm_q8,
    .gemm_q4 = gemm_q4,
    .repack = nullptr,
    .pack_rows = 0,
    .pack_block_bytes_q8 = 0,
    .pack_block_bytes_q4 = 0,
    .gemm_fp8 = gemm_fp8,
    .attention = attention,
    .dot_f32 = dot,
    .axpy_f32 = axpy,
    .dequantize = dequantize,
    .gemm_panels = gemm_panels,
    .gemm_panels_bf16 = gemm_panels_bf16,
    .round_bf16 = round_bf16,
    .exp_f32 = exp_f32,
    .silu_mul_f32 = silu_mul,
    .silu_mul_grad_f32 = silu_mul_grad,
    .max_f32 = max_value,
    .exp_sum_f32 = exp_sum,
};

}  // namespace wenxin::kernels::generic
