// Training's bf16 products (gemm_panels_bf16) on AMX-BF16. A gemm_panels panel is already two AMX B
// operands: its pair rows are 32 columns × 2 bf16 (128 bytes), so columns 0..15 and 16..31 of 16 pairs
// are two tiles of 16 rows × 64 bytes, 128 bytes apart. The rows of `a` are the A operand as they are.
// A 32 × 32 block of c stays in four tile accumulators for the whole depth (float32 sums of exact bf16
// products, as vdpbf16ps), and is written once.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "kernels/amx/amx.h"

namespace wenxin::kernels::amx {

namespace {

constexpr int64_t kTileRows = 16;                    // rows of every tile
constexpr int64_t kTilePairs = 16;                   // bf16 pairs a tile row holds (64 bytes)
constexpr int64_t kBlockRows = 2 * kTileRows;        // rows of c a block: two A tiles
constexpr int64_t kPanelBytes = 2 * kGemmPanel * 2;  // one pair row of a panel

struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// GCC's tile loads and stores are asm statements that tell the compiler neither which memory they read
// nor which they write: a barrier on each buffer this file fills for a tile load or reads after a tile
// store, so those writes are neither dropped nor moved across it.
inline void tile_memory(const void* p) {
#if defined(_MSC_VER) && !defined(__clang__)
  (void)p;
  _ReadWriteBarrier();
#else
  __asm__ __volatile__("" : : "r"(p) : "memory");
#endif
}

// This thread's tiles configured as 8 of 16 rows × 64 bytes (c in 0..3 as [row tile][column half], a in
// 4..5, B in 6..7) and released when done: a thread leaving the kernel holds no AMX state.
struct TileScope {
  TileScope() {
    TileConfig c;
    for (int i = 0; i < 8; ++i) c.rows[i] = kTileRows, c.colsb[i] = 64;
    _tile_loadconfig(&c);
  }
  ~TileScope() { _tile_release(); }
  TileScope(const TileScope&) = delete;
  TileScope& operator=(const TileScope&) = delete;
};

// c[0, rows)[0, cols) (= or +=) the four accumulators, through a buffer (the block may overhang c).
void store_block(float* c, int64_t ldc, int64_t rows, int64_t cols, bool accumulate) {
  alignas(64) float out[4][kTileRows * 16];
  _tile_stored(0, out[0], 64);
  _tile_stored(1, out[1], 64);
  _tile_stored(2, out[2], 64);
  _tile_stored(3, out[3], 64);
  tile_memory(out);
  for (int half = 0; half < 2; ++half) {
    const int64_t valid = cols - 16 * half;
    if (valid <= 0) break;
    const __mmask16 m = valid >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << valid) - 1);
    for (int64_t r = 0; r < rows; ++r) {
      float* dst = c + r * ldc + 16 * half;
      __m512 v = _mm512_load_ps(out[(r / kTileRows) * 2 + half] + (r % kTileRows) * 16);
      if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, dst));
      _mm512_mask_storeu_ps(dst, m, v);
    }
  }
}

// One 32-row block of `a` (rows `lda` apart; at least 32 readable) against one panel, all kp pairs.
void block(const uint16_t* a, int64_t lda, int64_t kp, const uint16_t* panel) {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  const int64_t a_stride = lda * 2, full = kp / kTilePairs * kTilePairs;
  for (int64_t q = 0; q < full; q += kTilePairs) {
    const auto* bq = reinterpret_cast<const uint8_t*>(panel) + q * kPanelBytes;
    _tile_loadd(4, a + 2 * q, a_stride);
    _tile_loadd(5, a + kTileRows * lda + 2 * q, a_stride);
    _tile_loadd(6, bq, kPanelBytes);
    _tile_loadd(7, bq + 64, kPanelBytes);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  if (full == kp) return;
  // The last pairs from zero-padded copies: a tile always reads 16 pairs.
  const int64_t rest = kp - full;
  alignas(64) uint16_t at[kBlockRows][2 * kTilePairs] = {};
  alignas(64) uint8_t bt[kTilePairs][kPanelBytes] = {};
  for (int64_t r = 0; r < kBlockRows; ++r) std::memcpy(at[r], a + r * lda + 2 * full, rest * 4);
  std::memcpy(bt, reinterpret_cast<const uint8_t*>(panel) + full * kPanelBytes, rest * kPanelBytes);
  tile_memory(at);
  tile_memory(bt);
  _tile_loadd(4, at[0], 64);
  _tile_loadd(5, at[kTileRows], 64);
  _tile_loadd(6, bt, kPanelBytes);
  _tile_loadd(7, &bt[0][64], kPanelBytes);
  _tile_dpbf16ps(0, 4, 6);
  _tile_dpbf16ps(1, 4, 7);
  _tile_dpbf16ps(2, 5, 6);
  _tile_dpbf16ps(3, 5, 7);
}

}  // namespace

void gemm_panels_bf16(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const uint16_t* b, int64_t n, float* c,
                      int64_t ldc, bool accumulate) {
  const TileScope tiles;
  const int64_t panels = (n + kGemmPanel - 1) / kGemmPanel, full = m / kBlockRows * kBlockRows;
  const int64_t panel_elems = kp * 2 * kGemmPanel;
  for (int64_t i0 = 0; i0 < full; i0 += kBlockRows)
    for (int64_t p = 0; p < panels; ++p) {
      block(a + i0 * lda, lda, kp, b + p * panel_elems);
      store_block(c + i0 * ldc + p * kGemmPanel, ldc, kBlockRows, n - p * kGemmPanel, accumulate);
    }
  if (full == m) return;
  // The last rows from a zero-padded copy: the A tiles always read 32 rows.
  thread_local std::vector<uint16_t> rest;
  const int64_t rows = m - full;
  rest.assign(kBlockRows * 2 * kp, 0);
  for (int64_t r = 0; r < rows; ++r) std::memcpy(rest.data() + r * 2 * kp, a + (full + r) * lda, kp * 4);
  tile_memory(rest.data());
  for (int64_t p = 0; p < panels; ++p) {
    block(rest.data(), 2 * kp, kp, b + p * panel_elems);
    store_block(c + full * ldc + p * kGemmPanel, ldc, rows, n - p * kGemmPanel, accumulate);
  }
}

}  // namespace wenxin::kernels::amx
