#include "train/matmul.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "core/aligned_vector.h"
#include "core/dtype.h"
#include "core/scratch.h"
#include "kernels/kernels.h"
#include "kernels/ops.h"
#include "train/step_timers.h"

namespace wenxin::train {

namespace {

// Depths up to this (LoRA's rank on the way up) multiply on gemm_panels: the float GEMM would make each
// output a dot product a few vectors long, with its own reduction.
constexpr int64_t kNarrowDepth = 64;

// matmul_nt for a narrow k: alpha · wᵀ packed as gemm_panels' panels once, then blocks of x's rows
// across the pool, each multiplied by all of them straight into y.
void matmul_nt_narrow(const float* x, int64_t rows, int64_t k, const float* w, int64_t n, float* y, float alpha,
                      bool accumulate, ThreadPool& pool) {
  constexpr int64_t kPanel = kernels::kGemmPanel, kRowBlock = 32;
  thread_local std::vector<float> t_panels;
  std::vector<float>& panels = t_panels;
  panels.assign((n + kPanel - 1) / kPanel * kPanel * k, 0.0f);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t p = 0; p < k; ++p) panels[(j / kPanel * k + p) * kPanel + j % kPanel] = alpha * w[j * k + p];
  const auto& K = kernels::active_kernels();
  pool.parallel_for((rows + kRowBlock - 1) / kRowBlock,
                    [&](int64_t b0, int64_t b1, int) {
                      const int64_t r0 = b0 * kRowBlock, r1 = std::min(rows, b1 * kRowBlock);
                      if (!accumulate) std::fill(y + r0 * n, y + r1 * n, 0.0f);
                      K.gemm_panels(x + r0 * k, k, r1 - r0, k, panels.data(), n, y + r0 * n, n);
                    },
                    1, kLoopChunks);
}

}  // namespace

void matmul_nt(const float* x, int64_t rows, int64_t k, const float* w, int64_t n, float* y, float alpha,
               bool accumulate, ThreadPool& pool) {
  if (rows <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) std::fill(y, y + rows * n, 0.0f);
    return;
  }
  if (k <= kNarrowDepth && n >= kernels::kGemmPanel) {
    matmul_nt_narrow(x, rows, k, w, n, y, alpha, accumulate, pool);
    return;
  }
  const auto& K = kernels::active_kernels();
  const size_t row_bytes = static_cast<size_t>(k) * sizeof(float);
  const bool direct = !accumulate && alpha == 1.0f;
  thread_local std::vector<float> products;
  float* out = direct ? y : scratch(products, static_cast<size_t>(rows * n));
  // Split whichever side has more work per thread; the kernel takes a row range of w and all of x.
  if (rows >= n) {
    pool.parallel_for(
        rows,
        [&](int64_t r0, int64_t r1, int) {
          K.gemm_float(x + r0 * k, r1 - r0, k, w, DType::kF32, row_bytes, 0, n, out + r0 * n, n);
        },
        4, kLoopChunks);
  } else {
    pool.parallel_for(
        n, [&](int64_t n0, int64_t n1, int) { K.gemm_float(x, rows, k, w, DType::kF32, row_bytes, n0, n1, out, n); }, 4,
        kLoopChunks);
  }
  if (direct) return;
  pool.parallel_for(
      rows * n,
      [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) y[i] = (accumulate ? y[i] : 0.0f) + alpha * out[i];
      },
      1, kLoopChunks);
}

void transpose(const float* in, int64_t rows, int64_t cols, float* out, ThreadPool& pool) {
  constexpr int64_t kBlock = 32;
  pool.parallel_for((cols + kBlock - 1) / kBlock,
                    [&](int64_t b0, int64_t b1, int) {
                      for (int64_t r0 = 0; r0 < rows; r0 += kBlock)
                        for (int64_t c0 = b0 * kBlock; c0 < std::min(cols, b1 * kBlock); c0 += kBlock)
                          for (int64_t c = c0; c < std::min(cols, c0 + kBlock); ++c)
                            for (int64_t r = r0; r < std::min(rows, r0 + kBlock); ++r)
                              out[c * rows + r] = in[r * cols + c];
                    },
                    1, kLoopChunks);
}

namespace {

// W's rows [r0, r1) and columns [c0, c1) in float32, [r1 - r0][c1 - c0] (c0 a multiple of 32 for the
// block formats).
void weight_window(const model::Linear& w, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* out) {
  const int64_t cols = c1 - c0;
  switch (w.format) {
    case WeightFormat::kFloat: {
      const size_t es = dtype_size(w.weight.dtype), row_bytes = static_cast<size_t>(w.in) * es;
      for (int64_t r = r0; r < r1; ++r)
        kernels::row_to_f32(static_cast<const uint8_t*>(w.weight.data) + r * row_bytes + c0 * es, w.weight.dtype, cols,
                            out + (r - r0) * cols);
      return;
    }
    case WeightFormat::kQ8:
    case WeightFormat::kQ4:
      kernels::active_kernels().dequantize(w.quantized, w.format == WeightFormat::kQ4, r0, r1, c0, c1, out);
      return;
    case WeightFormat::kFp8:
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c)
          out[(r - r0) * cols + c - c0] =
              kernels::fp8_e4m3_to_f32(w.quantized.data[r * w.in + c]) * w.quantized.row_scale[r];
      return;
  }
}

constexpr int64_t kPanel = kernels::kGemmPanel;

// B's rows [k0, k1) and columns [n0, n1) as gemm_panels' panels (columns past n1 zero), where B is
// W (B[p][j] = W[p][j]) or, `transposed`, Wᵀ (B[p][j] = W[j][p]). `tmp` is scratch.
void pack_panels(const model::Linear& w, bool transposed, int64_t k0, int64_t k1, int64_t n0, int64_t n1, float* out,
                 std::vector<float>& tmp) {
  const int64_t kk = k1 - k0;
  for (int64_t j0 = n0; j0 < n1; j0 += kPanel) {
    const int64_t cols = std::min(kPanel, n1 - j0);
    float* panel = out + (j0 - n0) * kk;
    if (!transposed) {
      // Rows of W are rows of B: a window 32 wide is the panel itself when whole.
      if (cols == kPanel) {
        weight_window(w, k0, k1, j0, j0 + kPanel, panel);
        continue;
      }
      tmp.resize(kk * cols);
      weight_window(w, k0, k1, j0, j0 + cols, tmp.data());
      for (int64_t p = 0; p < kk; ++p) {
        std::copy(tmp.data() + p * cols, tmp.data() + (p + 1) * cols, panel + p * kPanel);
        std::fill(panel + p * kPanel + cols, panel + (p + 1) * kPanel, 0.0f);
      }
      continue;
    }
    tmp.resize(cols * kk);
    weight_window(w, j0, j0 + cols, k0, k1, tmp.data());
    if (cols < kPanel) std::fill(panel, panel + kk * kPanel, 0.0f);
    for (int64_t j = 0; j < cols; ++j)
      for (int64_t p = 0; p < kk; ++p) panel[p * kPanel + j] = tmp[j * kk + p];
  }
}

// Column blocks of up to 256 (a packed block of 256 KB stays in L2), at least four per thread.
int64_t block_width(int64_t n, const ThreadPool& pool) {
  const int64_t want = (n + 4 * pool.size() - 1) / (4 * pool.size());
  return std::clamp<int64_t>((want + kPanel - 1) / kPanel * kPanel, kPanel, 256);
}

// fn(b) for b in [0, count), each block a chunk of the pool's loop: threads claim the next block not
// yet taken, so a thread the machine deschedules holds up only the block it is in. Each block's result
// does not depend on which thread computes it.
template <typename Fn>
void for_each_block(int64_t count, ThreadPool& pool, const Fn& fn) {
  pool.parallel_for(
      count,
      [&](int64_t b0, int64_t b1, int) {
        for (int64_t b = b0; b < b1; ++b) fn(b);
      },
      1, static_cast<int>(std::min<int64_t>(count, 0xFFFF)));
}

// pack_panels_bf16's untransposed panels (the input gradient's) straight from q4 tiles of
// kernels/interleaved_tiles.h (the table's `interleaved_q4_tiles`): per group of `pack_rows` rows and
// 32-column block, the rows' fp16 scales, then four runs of 4 bytes per row, byte e of run j holding
// values 8j + e (low nibble) and 8j + 4 + e (high nibble), each nibble − 8. A block's 16 possible
// values are rounded to bf16 once; the same bf16 as dequantizing to float32 and rounding.
bool pack_q4_tiles_bf16(const model::Linear& w, int64_t k0, int64_t k1, int64_t n0, int64_t n1, uint32_t* out) {
  const auto& K = kernels::active_kernels();
  const kernels::QuantizedMatrix& q = w.quantized;
  if (w.format != WeightFormat::kQ4 || q.packed == nullptr || !K.interleaved_q4_tiles || n0 % kernels::kQBlock != 0 ||
      q.k % kernels::kQBlock != 0)
    return false;
  const int64_t rows = K.pack_rows, nb = q.k / kernels::kQBlock, bb = K.pack_block_bytes_q4, kk = k1 - k0,
                kp = (kk + 1) / 2;
  // Row r's values in the 32-column block b, as bf16.
  auto decode = [&](int64_t r, int64_t b, uint16_t* v) {
    const uint8_t* tile = q.packed + ((r / rows) * nb + b) * bb;
    uint16_t s;
    std::memcpy(&s, tile + 2 * (r % rows), sizeof(s));
    const float scale = f16_to_f32(s);
    uint16_t lut[16];
    for (int i = 0; i < 16; ++i) lut[i] = f32_to_bf16(static_cast<float>(i - 8) * scale);
    const uint8_t* quants = tile + 2 * rows + (r % rows) * 4;
    for (int j = 0; j < 4; ++j) {
      const uint8_t* run = quants + j * 4 * rows;
      for (int e = 0; e < 4; ++e) {
        v[8 * j + e] = lut[run[e] & 0x0F];
        v[8 * j + 4 + e] = lut[run[e] >> 4];
      }
    }
  };
  uint16_t lo[kernels::kQBlock], hi[kernels::kQBlock];
  for (int64_t j0 = n0; j0 < n1; j0 += kPanel) {
    const int64_t cols = std::min(kPanel, n1 - j0);
    uint32_t* panel = out + (j0 - n0) * kp;
    for (int64_t qq = 0; qq < kp; ++qq) {
      decode(k0 + 2 * qq, j0 / kernels::kQBlock, lo);
      if (2 * qq + 1 < kk)
        decode(k0 + 2 * qq + 1, j0 / kernels::kQBlock, hi);
      else
        std::fill(hi, hi + kernels::kQBlock, uint16_t{0});
      uint32_t* dst = panel + qq * kPanel;
      for (int64_t j = 0; j < cols; ++j) dst[j] = pair_of(lo[j], hi[j]);
      for (int64_t j = cols; j < kPanel; ++j) dst[j] = 0;
    }
  }
  return true;
}

// B's rows [k0, k1) and columns [n0, n1) as gemm_panels_bf16's panels (pairs of B's rows, the one past
// k1 zero; columns past n1 zero), B = W or Wᵀ as in pack_panels; out[(q * kPanel + j)] is the pair of
// column j at rows 2q, 2q + 1 of a panel. bf16 weights are copied as they are, the other formats go
// through float32 (weight_window) and are rounded.
void pack_panels_bf16(const model::Linear& w, bool transposed, int64_t k0, int64_t k1, int64_t n0, int64_t n1,
                      uint32_t* out, std::vector<float>& tmp) {
  if (!transposed && pack_q4_tiles_bf16(w, k0, k1, n0, n1, out)) return;
  const int64_t kk = k1 - k0, kp = (kk + 1) / 2;
  const bool bf16 = w.format == WeightFormat::kFloat && w.weight.dtype == DType::kBF16;
  const auto* wb = static_cast<const uint16_t*>(w.weight.data);
  for (int64_t j0 = n0; j0 < n1; j0 += kPanel) {
    const int64_t cols = std::min(kPanel, n1 - j0);
    uint32_t* panel = out + (j0 - n0) * kp;
    if (cols < kPanel) std::fill(panel, panel + kPanel * kp, 0u);
    const float* f = nullptr;
    if (!bf16) {
      tmp.resize(kk * cols);
      if (transposed)
        weight_window(w, j0, j0 + cols, k0, k1, tmp.data());  // [cols][kk]
      else
        weight_window(w, k0, k1, j0, j0 + cols, tmp.data());  // [kk][cols]
      f = tmp.data();
    }
    if (!transposed) {
      // B[p][j] = W[p][j]: rows k0 + 2q and k0 + 2q + 1 of W, interleaved.
      for (int64_t q = 0; q < kp; ++q) {
        uint32_t* dst = panel + q * kPanel;
        const bool two = 2 * q + 1 < kk;
        if (bf16) {
          const uint16_t* r0 = wb + (k0 + 2 * q) * w.in + j0;
          const uint16_t* r1 = two ? r0 + w.in : nullptr;
          if (two)
            for (int64_t j = 0; j < cols; ++j) dst[j] = pair_of(r0[j], r1[j]);
          else
            for (int64_t j = 0; j < cols; ++j) dst[j] = r0[j];
        } else {
          const float* r0 = f + 2 * q * cols;
          for (int64_t j = 0; j < cols; ++j)
            dst[j] = pair_of(f32_to_bf16(r0[j]), two ? f32_to_bf16(r0[cols + j]) : uint16_t{0});
        }
      }
      continue;
    }
    // B[p][j] = W[j][p]: row j0 + j of W from column k0 is column j of the panel, its pairs in order.
    if (bf16) {
      // A transpose of 32-bit pairs, 16 pairs of every column at a time: the panel's rows are written
      // whole, each once, where a column at a time writes every row 32 times over.
      const int64_t whole = kk / 2;
      for (int64_t q0 = 0; q0 < whole; q0 += 16) {
        const int64_t q1 = std::min(whole, q0 + 16);
        for (int64_t j = 0; j < cols; ++j) {
          const uint16_t* src = wb + (j0 + j) * w.in + k0;
          for (int64_t q = q0; q < q1; ++q) std::memcpy(panel + q * kPanel + j, src + 2 * q, sizeof(uint32_t));
        }
      }
      if (kk % 2 != 0)
        for (int64_t j = 0; j < cols; ++j) panel[whole * kPanel + j] = wb[(j0 + j) * w.in + k0 + kk - 1];
      continue;
    }
    for (int64_t j = 0; j < cols; ++j) {
      const float* src = f + j * kk;
      for (int64_t q = 0; q < kp; ++q)
        panel[q * kPanel + j] =
            pair_of(f32_to_bf16(src[2 * q]), 2 * q + 1 < kk ? f32_to_bf16(src[2 * q + 1]) : uint16_t{0});
    }
  }
}

// How weight_product_bf16 splits c = a · B (B = W or Wᵀ, k × n): column blocks of `width`, each packed
// `depth` deep at a time. As deep as ~384 KB of panels allows (the whole of k for the layers' products),
// so a tile of c is written once per depth block: with thousands of rows, c's block no longer stays
// in the cache from one depth block to the next. Tables whose gemm_panels_bf16 widens the pairs per
// call (panels_bf16_depth, AVX2) get blocks up to 256 columns wide and that many pairs deep instead:
// the LM head's input gradient (k = vocabulary) would otherwise be one panel wide, its 256 rows of
// logits read and widened again for every 32 columns.
// PanelPlan also describes the float32 products' blocks (f32_plan), with rows of B where bf16 has pairs.
struct PanelPlan {
  int64_t k = 0, n = 0, width = 0, depth = 0;
  bool bf16 = false;  // entries are pairs of bf16 rows (gemm_panels_bf16), else float32 rows (gemm_panels)
  int64_t blocks() const { return (n + width - 1) / width; }
  int64_t depths() const { return (k + depth - 1) / depth; }
  int64_t rows(int64_t k0) const { return std::min(k, k0 + depth) - k0; }
  int64_t pairs(int64_t k0) const { return (rows(k0) + 1) / 2; }
  int64_t cols(int64_t b) const { return std::min(n, (b + 1) * width) - b * width; }
  int64_t entries(int64_t b, int64_t k0) const {
    return (cols(b) + kPanel - 1) / kPanel * kPanel * (bf16 ? pairs(k0) : rows(k0));
  }
  bool operator==(const PanelPlan&) const = default;
};

PanelPlan bf16_plan(const model::Linear& w, bool transposed, const ThreadPool& pool) {
  constexpr int64_t kPackedBytes = 384 << 10;
  PanelPlan p;
  p.bf16 = true;
  p.k = transposed ? w.in : w.out;
  p.n = transposed ? w.out : w.in;
  // Panels a block: at most what fits kPackedBytes whole-deep (at least one), and at least four blocks a
  // thread; among those, the widest whose blocks share out evenly: the threads finish together (two
  // threads and eleven blocks would leave one idle for a block at the end of every product).
  const int64_t panels = (p.n + kPanel - 1) / kPanel, threads = std::max(1, pool.size());
  const int64_t shallow = kernels::active_kernels().panels_bf16_depth;
  // Shallow blocks (the table's panels_bf16_depth): up to 8 panels wide, at least two blocks a thread.
  const int64_t most =
      shallow > 0
          ? std::clamp<int64_t>(panels / (2 * threads), 1, 8)
          : std::clamp<int64_t>(
                std::min(kPackedBytes / (2 * std::max<int64_t>(p.k, 1)) / kPanel, panels / (4 * threads)), 1, 8);
  int64_t best = 1, best_span = INT64_MAX;
  for (int64_t per = 1; per <= most; ++per) {
    const int64_t blocks = (panels + per - 1) / per, span = (blocks + threads - 1) / threads * per;
    if (span <= best_span) {
      best = per;
      best_span = span;
    }
  }
  p.width = best * kPanel;
  p.depth = shallow > 0 ? std::min(2 * shallow, p.k + p.k % 2)
                        : std::clamp<int64_t>(kPackedBytes / (2 * p.width) / 2 * 2, 256, p.k + p.k % 2);
  return p;
}

// How weight_product splits c = a · B in float32: column blocks of block_width, 256 rows of B deep.
PanelPlan f32_plan(const model::Linear& w, bool transposed, const ThreadPool& pool) {
  PanelPlan p;
  p.k = transposed ? w.in : w.out;
  p.n = transposed ? w.out : w.in;
  p.width = block_width(p.n, pool);
  p.depth = 256;
  return p;
}

PanelPlan plan_for(const model::Linear& w, bool transposed, bool bf16, const ThreadPool& pool) {
  return bf16 ? bf16_plan(w, transposed, pool) : f32_plan(w, transposed, pool);
}

}  // namespace

// One weight's panels in one direction and precision, block by block as the product walks them.
struct KeptPanels::Entry {
  const model::Linear* w = nullptr;
  bool transposed = false;
  PanelPlan plan;
  std::vector<aligned_vector<uint32_t>> blocks;   // bf16 pairs: [column block][depth block]
  std::vector<aligned_vector<float>> blocks_f32;  // float32: [column block][depth block]
};

KeptPanels::KeptPanels() = default;
KeptPanels::~KeptPanels() = default;

void KeptPanels::add(const model::Linear& w, bool transposed, bool bf16, ThreadPool& pool) {
  auto e = std::make_unique<Entry>();
  e->w = &w;
  e->transposed = transposed;
  e->plan = plan_for(w, transposed, bf16, pool);
  const PanelPlan& p = e->plan;
  if (bf16)
    e->blocks.resize(p.blocks() * p.depths());
  else
    e->blocks_f32.resize(p.blocks() * p.depths());
  for_each_block(p.blocks(), pool, [&](int64_t b) {
    thread_local std::vector<float> tmp;
    const int64_t n0 = b * p.width, n1 = n0 + p.cols(b);
    for (int64_t d = 0; d < p.depths(); ++d) {
      const int64_t k0 = d * p.depth, k1 = k0 + p.rows(k0), i = b * p.depths() + d;
      if (bf16) {
        e->blocks[i].resize(p.entries(b, k0));
        pack_panels_bf16(w, transposed, k0, k1, n0, n1, e->blocks[i].data(), tmp);
      } else {
        e->blocks_f32[i].resize(p.entries(b, k0));
        pack_panels(w, transposed, k0, k1, n0, n1, e->blocks_f32[i].data(), tmp);
      }
    }
  });
  entries_.push_back(std::move(e));
}

const KeptPanels::Entry* KeptPanels::find(const model::Linear& w, bool transposed, bool bf16,
                                          const ThreadPool& pool) const {
  for (const auto& e : entries_)
    if (e->w == &w && e->transposed == transposed && e->plan == plan_for(w, transposed, bf16, pool)) return e.get();
  return nullptr;
}

namespace {

thread_local const KeptPanels* t_kept = nullptr;

// Rows of `a` an item of a product takes. With kept panels, each column block is also split into parts
// of `a`'s rows (multiples of 48, at least 96 rows) until there are four items a thread: a thread the
// machine holds up (or one that drew the last block) then leaves the other less to wait for. Each part
// reads (bf16: widens) the block's panels again, so only kept panels are split (packing them again for
// each part would cost more). Every element of c is the same sum however its rows are split.
int64_t item_rows(const PanelPlan& p, int64_t m, bool kept, const ThreadPool& pool) {
  if (!kept) return m;
  const int64_t want = (4 * std::max(1, pool.size()) + p.blocks() - 1) / p.blocks();
  const int64_t parts = std::clamp<int64_t>(want, 1, std::max<int64_t>(1, m / 96));
  return parts == 1 ? m : ((m + parts - 1) / parts + 47) / 48 * 48;
}

// c[m, n] (+)= a[m, k] · B with B = W or Wᵀ (see pack_panels), in float32: threads take blocks of c's
// columns (f32_plan) and walk k a depth block at a time, the block's panels packed once for all of
// a's rows or, for a weight in `kept`, packed before.
void weight_product(const model::Linear& w, bool transposed, const float* a, int64_t m, float* c, bool accumulate,
                    ThreadPool& pool, const KeptPanels::Entry* kept) {
  const auto& K = kernels::active_kernels();
  const PanelPlan p = kept ? kept->plan : f32_plan(w, transposed, pool);
  const int64_t step = item_rows(p, m, kept != nullptr, pool), items = (m + step - 1) / step;
  for_each_block(p.blocks() * items, pool, [&](int64_t item) {
    thread_local aligned_vector<float> packed;
    thread_local std::vector<float> tmp;
    const int64_t b = item / items, r0 = (item % items) * step, rows = std::min(m, r0 + step) - r0;
    const int64_t n0 = b * p.width, n1 = n0 + p.cols(b);
    if (!accumulate)
      for (int64_t i = r0; i < r0 + rows; ++i) std::fill(c + i * p.n + n0, c + i * p.n + n1, 0.0f);
    for (int64_t d = 0; d < p.depths(); ++d) {
      const int64_t k0 = d * p.depth, k1 = k0 + p.rows(k0);
      const float* panels = nullptr;
      if (kept) {
        panels = kept->blocks_f32[b * p.depths() + d].data();
      } else {
        packed.resize(p.entries(b, k0));
        pack_panels(w, transposed, k0, k1, n0, n1, packed.data(), tmp);
        panels = packed.data();
      }
      K.gemm_panels(a + r0 * p.k + k0, p.k, rows, k1 - k0, panels, n1 - n0, c + r0 * p.n + n0, p.n);
    }
  });
}

// a[m][k] rounded to bf16 in parallel, rows k + k % 2 apart (the pad zero), in this thread's buffer (the
// pool's workers read it through the pointer until the next call on this thread).
const uint16_t* rounded_rows(const float* a, int64_t m, int64_t k, ThreadPool& pool) {
  TRAIN_PHASE("gemm.round");
  const auto& K = kernels::active_kernels();
  const int64_t kpad = k + k % 2;
  thread_local aligned_vector<uint16_t> rounded;
  uint16_t* ab = scratch(rounded, static_cast<size_t>(m * kpad));
  pool.parallel_for(
      m,
      [&](int64_t r0, int64_t r1, int) {
        for (int64_t r = r0; r < r1; ++r) {
          uint16_t* dst = ab + r * kpad;
          K.round_bf16(a + r * k, dst, k);
          if (kpad > k) dst[k] = 0;
        }
      },
      1, kLoopChunks);
  return ab;
}

// weight_product in bf16 (Bf16ComputeScope): `a` rounded to bf16 once, then blocks as bf16_plan says,
// their panels packed here or, for a weight in `kept`, packed before.
void weight_product_bf16(const model::Linear& w, bool transposed, const float* a, int64_t m, float* c, bool accumulate,
                         ThreadPool& pool, const KeptPanels::Entry* kept) {
  const auto& K = kernels::active_kernels();
  const PanelPlan p = kept ? kept->plan : bf16_plan(w, transposed, pool);
  const int64_t k = p.k, n = p.n, kpad = k + k % 2;
  const uint16_t* ab = rounded_rows(a, m, k, pool);
  TRAIN_PHASE("gemm.blocks");
  const int64_t step_rows = item_rows(p, m, kept != nullptr, pool);
  const int64_t items_per_block = (m + step_rows - 1) / step_rows;
  for_each_block(p.blocks() * items_per_block, pool, [&](int64_t item) {
    thread_local aligned_vector<uint32_t> packed;
    thread_local std::vector<float> tmp;
    const int64_t b = item / items_per_block, r0 = (item % items_per_block) * step_rows,
                  rows = std::min(m, r0 + step_rows) - r0;
    const int64_t n0 = b * p.width, n1 = n0 + p.cols(b);
    for (int64_t d = 0; d < p.depths(); ++d) {
      const int64_t k0 = d * p.depth;
      const uint32_t* panels = nullptr;
      if (kept) {
        panels = kept->blocks[b * p.depths() + d].data();
      } else {
        TRAIN_CPU_PHASE(transposed ? "cpu.pack_fwd" : "cpu.pack_bwd");
        packed.resize(p.entries(b, k0));
        pack_panels_bf16(w, transposed, k0, std::min(k, k0 + p.depth), n0, n1, packed.data(), tmp);
        panels = packed.data();
      }
      TRAIN_CPU_PHASE(kept ? "cpu.tiles_kept" : "cpu.tiles_packed");
      K.gemm_panels_bf16(ab + r0 * kpad + k0, kpad, rows, p.pairs(k0), reinterpret_cast<const uint16_t*>(panels),
                         n1 - n0, c + r0 * n + n0, n, accumulate || d > 0);
    }
  });
}

// weight_product_bf16's c = a · Wᵀ through a bf16 weight's rows as they are stored (the table's
// gemm_rows_bf16): from `a`'s rows rounded to bf16 (`ab`, w.in apart), threads take blocks of c's
// columns, each reading its rows of W in place.
void rows_product_bf16(const model::Linear& w, const uint16_t* ab, int64_t m, float* c, bool accumulate,
                       ThreadPool& pool) {
  const auto& K = kernels::active_kernels();
  const int64_t k = w.in, n = w.out;
  TRAIN_PHASE("gemm.blocks");
  const int64_t width = block_width(n, pool);
  const auto* rows = static_cast<const uint16_t*>(w.weight.data);
  for_each_block((n + width - 1) / width, pool, [&](int64_t b) {
    TRAIN_CPU_PHASE("cpu.tiles_rows");
    const int64_t n0 = b * width, n1 = std::min(n, n0 + width);
    K.gemm_rows_bf16(ab, k, m, k / 2, rows + n0 * k, k, n1 - n0, c + n0, n, accumulate);
  });
}

thread_local bool t_bf16_compute = false;

void product(const model::Linear& w, bool transposed, const float* a, int64_t m, float* c, bool accumulate,
             ThreadPool& pool) {
  if (reads_weight_rows(w, transposed, t_bf16_compute)) {
    rows_product_bf16(w, rounded_rows(a, m, w.in, pool), m, c, accumulate, pool);
    return;
  }
  const KeptPanels::Entry* kept = t_kept ? t_kept->find(w, transposed, t_bf16_compute, pool) : nullptr;
  if (t_bf16_compute)
    weight_product_bf16(w, transposed, a, m, c, accumulate, pool, kept);
  else
    weight_product(w, transposed, a, m, c, accumulate, pool, kept);
}

}  // namespace

bool reads_weight_rows(const model::Linear& w, bool transposed, bool bf16) {
  return bf16 && transposed && kernels::active_kernels().gemm_rows_bf16 != nullptr &&
         w.format == WeightFormat::kFloat && w.weight.dtype == DType::kBF16 && w.in % 2 == 0;
}

Bf16ComputeScope::Bf16ComputeScope(bool on) : previous_(t_bf16_compute) { t_bf16_compute = on; }
Bf16ComputeScope::~Bf16ComputeScope() { t_bf16_compute = previous_; }
bool bf16_compute() { return t_bf16_compute; }

KeptPanelsScope::KeptPanelsScope(const KeptPanels* kept) : previous_(t_kept) { t_kept = kept; }
KeptPanelsScope::~KeptPanelsScope() { t_kept = previous_; }

void linear_input_grad(const model::Linear& w, const float* dy, int64_t T, float* dx, bool accumulate,
                       ThreadPool& pool) {
  product(w, false, dy, T, dx, accumulate, pool);
}

void linear_forward_train(const model::Linear& w, model::LinearInput& x, float* y, ThreadPool& pool) {
  // Quantized weights keep the inference path (int8 products with quantized activations).
  if (w.format != WeightFormat::kFloat) {
    model::linear_forward(w, x, y, pool);
    return;
  }
  if (reads_weight_rows(w, true, t_bf16_compute))  // the input's bf16 rows, rounded once for all its layers
    rows_product_bf16(w, x.bf16_rows(pool), x.tokens(), y, false, pool);
  else
    product(w, true, x.data(), x.tokens(), y, false, pool);
  if (!w.bias.empty())
    for (int64_t t = 0; t < x.tokens(); ++t)
      for (int64_t j = 0; j < w.out; ++j) y[t * w.out + j] += w.bias[j];
}

}  // namespace wenxin::train
