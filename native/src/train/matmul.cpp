#include "train/matmul.h"

#include <algorithm>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/ops.h"

namespace wenxin::train {

void matmul_nt(const float* x, int64_t rows, int64_t k, const float* w, int64_t n, float* y, float alpha,
               bool accumulate, ThreadPool& pool) {
  if (rows <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) std::fill(y, y + rows * n, 0.0f);
    return;
  }
  const auto& K = kernels::active_kernels();
  const size_t row_bytes = static_cast<size_t>(k) * sizeof(float);
  const bool direct = !accumulate && alpha == 1.0f;
  thread_local std::vector<float> scratch;
  float* out = y;
  if (!direct) {
    scratch.resize(static_cast<size_t>(rows * n));
    out = scratch.data();
  }
  // Split whichever side has more work per thread; the kernel takes a row range of w and all of x.
  if (rows >= n) {
    pool.parallel_for(
        rows,
        [&](int64_t r0, int64_t r1, int) {
          K.gemm_float(x + r0 * k, r1 - r0, k, w, DType::kF32, row_bytes, 0, n, out + r0 * n, n);
        },
        4);
  } else {
    pool.parallel_for(
        n, [&](int64_t n0, int64_t n1, int) { K.gemm_float(x, rows, k, w, DType::kF32, row_bytes, n0, n1, out, n); },
        4);
  }
  if (direct) return;
  pool.parallel_for(rows * n, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) y[i] = (accumulate ? y[i] : 0.0f) + alpha * out[i];
  });
}

void transpose(const float* in, int64_t rows, int64_t cols, float* out, ThreadPool& pool) {
  constexpr int64_t kBlock = 32;
  pool.parallel_for((cols + kBlock - 1) / kBlock, [&](int64_t b0, int64_t b1, int) {
    for (int64_t r0 = 0; r0 < rows; r0 += kBlock)
      for (int64_t c0 = b0 * kBlock; c0 < std::min(cols, b1 * kBlock); c0 += kBlock)
        for (int64_t c = c0; c < std::min(cols, c0 + kBlock); ++c)
          for (int64_t r = r0; r < std::min(rows, r0 + kBlock); ++r) out[c * rows + r] = in[r * cols + c];
  });
}

namespace {

// Rows [n0, n1) and columns [i0, i1) of the layer's weight, as float32 [n1 - n0][i1 - i0].
void weight_tile(const model::Linear& w, int64_t n0, int64_t n1, int64_t i0, int64_t i1, float* out) {
  const int64_t cols = i1 - i0;
  switch (w.format) {
    case WeightFormat::kFloat: {
      const size_t es = dtype_size(w.weight.dtype), row_bytes = static_cast<size_t>(w.in) * es;
      for (int64_t n = n0; n < n1; ++n)
        kernels::row_to_f32(static_cast<const uint8_t*>(w.weight.data) + n * row_bytes + i0 * es, w.weight.dtype, cols,
                            out + (n - n0) * cols);
      return;
    }
    case WeightFormat::kQ8:
    case WeightFormat::kQ4:
      kernels::active_kernels().dequantize(w.quantized, w.format == WeightFormat::kQ4, n0, n1, i0, i1, out);
      return;
    case WeightFormat::kFp8:
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t i = i0; i < i1; ++i)
          out[(n - n0) * cols + i - i0] =
              kernels::fp8_e4m3_to_f32(w.quantized.data[n * w.in + i]) * w.quantized.row_scale[n];
      return;
  }
}

}  // namespace

void linear_input_grad(const model::Linear& w, const float* dy, int64_t T, float* dx, bool accumulate,
                       ThreadPool& pool) {
  const auto& K = kernels::active_kernels();
  const int64_t out = w.out, in = w.in;
  // Each thread owns a range of dx's columns (64 at a time: whole quantization blocks) and walks the
  // output rows in blocks of 512: a tile of the weight, widened and transposed (128 KiB), meets the
  // matching columns of dy copied contiguous, through the float GEMM.
  constexpr int64_t kCols = 64, kRows = 512;
  const int64_t col_blocks = (in + kCols - 1) / kCols;
  pool.parallel_for(col_blocks, [&](int64_t cb0, int64_t cb1, int) {
    thread_local std::vector<float> tile, tile_t, dy_block, part;
    for (int64_t cb = cb0; cb < cb1; ++cb) {
      const int64_t i0 = cb * kCols, i1 = std::min(in, i0 + kCols), cols = i1 - i0;
      for (int64_t n0 = 0; n0 < out; n0 += kRows) {
        const int64_t n1 = std::min(out, n0 + kRows), nr = n1 - n0;
        tile.resize(nr * cols);
        tile_t.resize(cols * nr);
        weight_tile(w, n0, n1, i0, i1, tile.data());
        for (int64_t n = 0; n < nr; ++n)
          for (int64_t i = 0; i < cols; ++i) tile_t[i * nr + n] = tile[n * cols + i];
        dy_block.resize(T * nr);
        for (int64_t t = 0; t < T; ++t) std::copy(dy + t * out + n0, dy + t * out + n1, dy_block.data() + t * nr);
        part.resize(T * cols);
        K.gemm_float(dy_block.data(), T, nr, tile_t.data(), DType::kF32, static_cast<size_t>(nr) * sizeof(float), 0,
                     cols, part.data(), cols);
        const bool first = n0 == 0 && !accumulate;
        for (int64_t t = 0; t < T; ++t) {
          float* row = dx + t * in + i0;
          const float* p = part.data() + t * cols;
          if (first)
            std::copy(p, p + cols, row);
          else
            for (int64_t i = 0; i < cols; ++i) row[i] += p[i];
        }
      }
    }
  });
}

}  // namespace wenxin::train
