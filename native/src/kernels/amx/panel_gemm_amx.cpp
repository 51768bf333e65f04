// Training's bf16 products (gemm_panels_bf16) on AMX-BF16. A gemm_panels panel is already two AMX B
// operands: its pair rows are 32 columns × 2 bf16 (128 bytes), so columns 0..15 and 16..31 of 16 pairs
// are two tiles of 16 rows × 64 bytes, 128 bytes apart. The rows of `a` are the A operand as they are.
// A 32 × 32 block of c stays in four tile accumulators for the whole depth (float32 sums of exact bf16
// products, as vdpbf16ps), read from c (when accumulating) and written back once.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "core/aligned_vector.h"
#include "kernels/amx/amx.h"
#include "kernels/amx/panel_product.h"
#include "kernels/amx/tiles.h"
#include "kernels/avx512/lanes.h"

namespace wenxin::kernels::amx {

namespace {

// The four accumulators of a 32 × 32 block of c: read from and written to c itself when the block lies
// inside it, else through `buf` (rows and columns past c's zero on the way in, dropped on the way out).
class BlockOfC {
 public:
  BlockOfC(float* c, int64_t ldc, int64_t rows, int64_t cols)
      : c_(c),
        ldc_(ldc),
        rows_(rows),
        cols_(cols < kGemmPanel ? cols : kGemmPanel),
        direct_(rows == kBlockRows && cols >= kGemmPanel) {}

  void load(bool accumulate) {
    if (!accumulate) {
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      return;
    }
    if (direct_) {
      const int64_t stride = ldc_ * 4;
      tile_memory(c_);
      _tile_loadd(0, c_, stride);
      _tile_loadd(1, c_ + 16, stride);
      _tile_loadd(2, c_ + kTileRows * ldc_, stride);
      _tile_loadd(3, c_ + kTileRows * ldc_ + 16, stride);
      return;
    }
    for (int64_t r = 0; r < kBlockRows; ++r)
      for (int half = 0; half < 2; ++half)
        _mm512_store_ps(slot(r, half),
                        r < rows_ ? _mm512_maskz_loadu_ps(mask(half), c_ + r * ldc_ + 16 * half) : _mm512_setzero_ps());
    tile_memory(buf_);
    _tile_loadd(0, buf_[0], 64);
    _tile_loadd(1, buf_[1], 64);
    _tile_loadd(2, buf_[2], 64);
    _tile_loadd(3, buf_[3], 64);
  }

  void store() {
    if (direct_) {
      const int64_t stride = ldc_ * 4;
      _tile_stored(0, c_, stride);
      _tile_stored(1, c_ + 16, stride);
      _tile_stored(2, c_ + kTileRows * ldc_, stride);
      _tile_stored(3, c_ + kTileRows * ldc_ + 16, stride);
      tile_memory(c_);
      return;
    }
    _tile_stored(0, buf_[0], 64);
    _tile_stored(1, buf_[1], 64);
    _tile_stored(2, buf_[2], 64);
    _tile_stored(3, buf_[3], 64);
    tile_memory(buf_);
    for (int64_t r = 0; r < rows_; ++r)
      for (int half = 0; half < 2; ++half)
        _mm512_mask_storeu_ps(c_ + r * ldc_ + 16 * half, mask(half), _mm512_load_ps(slot(r, half)));
  }

 private:
  __mmask16 mask(int half) const { return avx512::first_lanes(cols_ - 16 * half); }
  float* slot(int64_t r, int half) { return buf_[(r / kTileRows) * 2 + half] + (r % kTileRows) * 16; }

  float* c_;
  int64_t ldc_, rows_, cols_;
  bool direct_;
  alignas(64) float buf_[4][kTileRows * 16];
};

// c's block += one 32-row block of `a` (rows `lda` apart; at least 32 readable) times one panel, all kp
// pairs: c's block in tiles 0..3 as [row tile][column half], a in 4..5, the panel's halves in 6..7.
void block(const uint16_t* a, int64_t lda, int64_t kp, const uint16_t* panel) {
  const int64_t a_stride = lda * 2, full = kp / kTilePairs * kTilePairs;
  const auto* b = reinterpret_cast<const uint8_t*>(panel);
  for (int64_t q = 0; q < full; q += kTilePairs)
    bf16_step(a + 2 * q, a + kTileRows * lda + 2 * q, a_stride, b + q * kPanelBytes);
  if (full == kp) return;
  // The last pairs from zero-padded copies: a tile always reads 16 pairs.
  const int64_t rest = kp - full;
  alignas(64) uint16_t at[kBlockRows][2 * kTilePairs] = {};
  alignas(64) uint8_t bt[kTilePairs][kPanelBytes] = {};
  for (int64_t r = 0; r < kBlockRows; ++r) std::memcpy(at[r], a + r * lda + 2 * full, rest * 4);
  std::memcpy(bt, b + full * kPanelBytes, rest * kPanelBytes);
  tile_memory(at);
  tile_memory(bt);
  bf16_step(at[0], at[kTileRows], 64, bt[0]);
}

}  // namespace

void row_block(const uint16_t* a, int64_t lda, int64_t rows, int64_t kp, const uint16_t* b, int64_t n, float* c,
               int64_t ldc, bool accumulate) {
  const int64_t panel_elems = kp * 2 * kGemmPanel;
  for (int64_t j0 = 0; j0 < n; j0 += kGemmPanel) {
    BlockOfC block_of_c(c + j0, ldc, rows, n - j0);
    block_of_c.load(accumulate);
    block(a, lda, kp, b + j0 / kGemmPanel * panel_elems);
    block_of_c.store();
  }
}

RowsOfA::RowsOfA(const uint16_t* a, int64_t lda, int64_t m, int64_t kp) : a_(a), lda_(lda), m_(m), kp_(kp) {
  const int64_t full = m / kBlockRows * kBlockRows;
  if (full == m) return;
  thread_local aligned_vector<uint16_t> rest;
  rest.assign(kBlockRows * 2 * kp, 0);
  for (int64_t r = full; r < m; ++r) std::memcpy(rest.data() + (r - full) * 2 * kp, a + r * lda, kp * 4);
  tile_memory(rest.data());
  rest_ = rest.data();
}

void RowsOfA::multiply(const uint16_t* b, int64_t n, float* c, int64_t ldc, bool accumulate) const {
  const int64_t full = m_ / kBlockRows * kBlockRows;
  for (int64_t i0 = 0; i0 < full; i0 += kBlockRows)
    row_block(a_ + i0 * lda_, lda_, kBlockRows, kp_, b, n, c + i0 * ldc, ldc, accumulate);
  if (rest_ != nullptr) row_block(rest_, 2 * kp_, m_ - full, kp_, b, n, c + full * ldc, ldc, accumulate);
}

void gemm_panels_bf16(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* b, int64_t n, float* c,
                      int64_t ldc, bool accumulate) {
  const TileScope tiles;
  RowsOfA(a, lda, m, kp).multiply(b, n, c, ldc, accumulate);
}

}  // namespace wenxin::kernels::amx
