// What the AMX kernels share: the tile configuration (8 tiles of 16 rows × 64 bytes) held while a kernel
// runs, and the compiler barrier GCC's tile intrinsics need.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/kernels.h"

namespace wenxin::kernels::amx {

inline constexpr int64_t kTileRows = 16;                    // rows of every tile
inline constexpr int64_t kTilePairs = 16;                   // bf16 pairs a tile row holds (64 bytes)
inline constexpr int64_t kPanelBytes = 2 * kGemmPanel * 2;  // one pair row of a gemm_panels panel

// GCC's tile loads and stores are asm statements that tell the compiler neither which memory they read
// nor which they write: a barrier on each buffer a kernel fills for a tile load or reads after a tile
// store, so those writes are neither dropped nor moved across it.
inline void tile_memory(const void* p) {
#if defined(_MSC_VER) && !defined(__clang__)
  (void)p;
  _ReadWriteBarrier();
#else
  __asm__ __volatile__("" : : "r"(p) : "memory");
#endif
}

// This thread's tiles configured as 8 of 16 rows × 64 bytes, and released when done: a thread leaving a
// kernel holds no AMX state (which the OS would otherwise save on every switch).
class TileScope {
 public:
  TileScope() {
    Config c;
    for (int i = 0; i < 8; ++i) c.rows[i] = kTileRows, c.colsb[i] = 64;
    _tile_loadconfig(&c);
  }
  ~TileScope() { _tile_release(); }
  TileScope(const TileScope&) = delete;
  TileScope& operator=(const TileScope&) = delete;

 private:
  struct alignas(64) Config {
    uint8_t palette = 1, start_row = 0, reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
  };
};

// One depth step (16 pairs) of a 32 × 32 block in bf16: tiles 0..3 += the A operand's two row tiles
// (tiles 4, 5: 16 rows from a0 and from a1, rows `stride` bytes apart) times the two halves of 16 pair
// rows of a panel (tiles 6, 7), as [A tile][panel half].
inline void bf16_step(const void* a0, const void* a1, int64_t stride, const uint8_t* panel_rows) {
  _tile_loadd(4, a0, stride);
  _tile_loadd(5, a1, stride);
  _tile_loadd(6, panel_rows, kPanelBytes);
  _tile_loadd(7, panel_rows + 64, kPanelBytes);
  _tile_dpbf16ps(0, 4, 6);
  _tile_dpbf16ps(1, 4, 7);
  _tile_dpbf16ps(2, 5, 6);
  _tile_dpbf16ps(3, 5, 7);
}

}  // namespace wenxin::kernels::amx
