// The tile product both AMX kernels end in (panel_gemm_amx.cpp): rows of `a` in bf16 as the A operand
// against gemm_panels panels as the B operand, with the tile configuration already held (TileScope).
#pragma once

#include <cstdint>

#include "kernels/amx/tiles.h"

namespace wenxin::kernels::amx {

inline constexpr int64_t kBlockRows = 2 * kTileRows;  // rows of c a block: two A tiles

// c's 32-row block at `c` (`rows` of them real) (=/+=) a's 32-row block (rows `lda` apart, all 32
// readable) times every panel of b (n columns, kp pairs deep).
void row_block(const uint16_t* a, int64_t lda, int64_t rows, int64_t kp, const uint16_t* b, int64_t n, float* c,
               int64_t ldc, bool accumulate);

// The m rows of `a` (lda apart, 2 · kp bf16 each) as A operands: whole 32-row blocks in place, the last
// m % 32 rows from a zero-padded copy made once (this thread's; valid until its next RowsOfA), so any
// number of panels can be multiplied by them.
class RowsOfA {
 public:
  RowsOfA(const uint16_t* a, int64_t lda, int64_t m, int64_t kp);
  // c[i * ldc + j] (=/+=) Σ_p a[i][p] · B[p][j] for i < m, j < n: gemm_panels_bf16's contract.
  void multiply(const uint16_t* b, int64_t n, float* c, int64_t ldc, bool accumulate) const;

 private:
  const uint16_t* a_;
  int64_t lda_, m_, kp_;
  const uint16_t* rest_ = nullptr;
};

}  // namespace wenxin::kernels::amx
