// Training's bf16 products through a bf16 weight as it is stored (gemm_rows_bf16): c = a · Wᵀ with W's
// rows as the A operand of TDPBF16PS (a tile is 16 rows × 32 bf16 of W: each row's depth is contiguous,
// so W needs no transposing, only 32 rows copied together at a time), and `a` as the B operand, packed
// by the caller as panels of aᵀ (kernels.h). The tiles hold cᵀ, a 32 × 32 block over the whole depth,
// and each 16 × 16 tile is transposed on its way into c. So the forward needs no panels of W, packed per
// step or kept in memory.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "kernels/amx/amx.h"
#include "kernels/amx/tiles.h"

namespace wenxin::kernels::amx {

namespace {

constexpr int64_t kBlock = 2 * kTileRows;  // rows of W (columns of c) and of a (rows of c) a block

// On entry r[i] is row i of a 16 × 16 block, on return r[i] is its column i.
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0x88);
    t[4 + i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0xDD);
    t[8 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0x88);
    t[12 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0xDD);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
    r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xDD);
    r[4 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0x88);
    r[12 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0xDD);
  }
}

// c[t][v] (=/+=) the accumulators' cᵀ[v][t] for t < rows, v < cols: tile 2 · (v / 16) + t / 16.
void store_transposed(float* c, int64_t ldc, int64_t rows, int64_t cols, bool accumulate) {
  alignas(64) float out[4][kTileRows * 16];
  _tile_stored(0, out[0], 64);
  _tile_stored(1, out[1], 64);
  _tile_stored(2, out[2], 64);
  _tile_stored(3, out[3], 64);
  tile_memory(out);
  for (int vt = 0; vt < 2; ++vt) {
    const int64_t valid = cols - 16 * vt;
    if (valid <= 0) break;
    const __mmask16 m = lanes(valid);
    for (int tt = 0; tt < 2 && 16 * tt < rows; ++tt) {
      __m512 r[16];
      for (int i = 0; i < 16; ++i) r[i] = _mm512_load_ps(out[2 * vt + tt] + 16 * i);
      transpose16(r);
      for (int64_t j = 0; j < 16 && 16 * tt + j < rows; ++j) {
        float* dst = c + (16 * tt + j) * ldc + 16 * vt;
        const __m512 v = accumulate ? _mm512_add_ps(r[j], _mm512_maskz_loadu_ps(m, dst)) : r[j];
        _mm512_mask_storeu_ps(dst, m, v);
      }
    }
  }
}

// 32 rows of W from `w` (`rows` of them real) in tile order: per step of 16 pairs, the 32 rows' 64 bytes
// one after another (the two A tiles of the step), rows past `rows` and pairs past kp zero. Contiguous
// tile loads, where W's own rows would be 16 streams `ldw` apart; copied once for all of a's rows.
void gather_rows(const uint16_t* w, int64_t ldw, int64_t rows, int64_t kp, int64_t steps, uint16_t* out) {
  for (int64_t r = 0; r < kBlock; ++r)  // each row of W read from start to end
    for (int64_t st = 0; st < steps; ++st) {
      const int64_t pairs = kp - st * kTilePairs < kTilePairs ? kp - st * kTilePairs : kTilePairs;
      const int64_t copied = r < rows ? pairs : 0;
      uint16_t* dst = out + (st * kBlock + r) * 2 * kTilePairs;
      if (copied > 0) std::memcpy(dst, w + r * ldw + st * 2 * kTilePairs, copied * 4);
      std::memset(dst + 2 * copied, 0, (kTilePairs - copied) * 4);
    }
  tile_memory(out);
}

// The accumulators = W's 32 gathered rows times one panel of aᵀ (as deep, zero past kp): W's rows in
// tiles 4..5, the panel's halves in 6..7, cᵀ in 0..3 as [W tile][a tile].
void block(const uint16_t* rows, int64_t steps, const uint16_t* panel) {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  const auto* b = reinterpret_cast<const uint8_t*>(panel);
  for (int64_t st = 0; st < steps; ++st, b += kTilePairs * kPanelBytes) {
    const uint16_t* w = rows + st * kBlock * 2 * kTilePairs;
    bf16_step(w, w + kTileRows * 2 * kTilePairs, 64, b);
  }
}

}  // namespace

void gemm_rows_bf16(const uint16_t* a_panels, int64_t m, int64_t kp, const uint16_t* w, int64_t ldw, int64_t n,
                    float* c, int64_t ldc, bool accumulate) {
  const TileScope tiles;
  const int64_t steps = (kp + kTilePairs - 1) / kTilePairs, panel_elems = steps * kTilePairs * 2 * kGemmPanel;
  thread_local std::vector<uint16_t> rows;
  rows.resize(static_cast<size_t>(steps * kBlock * 2 * kTilePairs));
  for (int64_t v0 = 0; v0 < n; v0 += kBlock) {
    gather_rows(w + v0 * ldw, ldw, n - v0 < kBlock ? n - v0 : kBlock, kp, steps, rows.data());
    for (int64_t t0 = 0; t0 < m; t0 += kBlock) {
      block(rows.data(), steps, a_panels + t0 / kBlock * panel_elems);
      store_transposed(c + t0 * ldc + v0, ldc, m - t0 < kBlock ? m - t0 : kBlock, n - v0, accumulate);
    }
  }
}

}  // namespace wenxin::kernels::amx
