// What the AMX kernels share: the tile configuration (8 tiles of 16 rows × 64 bytes) held while a kernel
// runs, and the compiler barrier GCC's tile intrinsics need.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace wenxin::kernels::amx {

inline constexpr int64_t kTileRows = 16;   // rows of every tile
inline constexpr int64_t kTilePairs = 16;  // bf16 pairs a tile row holds (64 bytes)

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

}  // namespace wenxin::kernels::amx
