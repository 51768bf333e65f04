// How training's panel products block their work on the ISAs without a bf16 dot product (AVX2, NEON):
// the constants panel_product.inc and each ISA's register tile share.
#pragma once

#include <cstdint>

namespace wenxin::kernels::panel_blocking {

// Rows and columns of `a` · B a register tile.
inline constexpr int kRows = 6;
inline constexpr int64_t kCols = 16;
// Depth of one block: the packed rows of `a` (6 × 256 floats) stay in L1, B's block (256 × up to 256
// columns, the trainer's widest) in L2.
inline constexpr int64_t kDepth = 256;
// Floats between the packed rows of `a`: not a multiple of 4 KB apart, so the six rows do not share L1
// sets.
inline constexpr int64_t kRowStride = kDepth + 16;
// Rows of `a` a chunk: the chunk's rows of c (48 × up to 256 columns) stay in L2 from one depth block to
// the next, where the whole of c (hundreds of rows) would be read back from L3 for every block.
inline constexpr int64_t kChunkRows = 8 * kRows;

// The tables' panels_bf16_depth (kernels.h): these paths widen B's pairs once a call, so the trainer hands
// them blocks at most this many pairs deep and up to 256 columns wide.
inline constexpr int64_t kWidenedPairsDepth = 512;

}  // namespace wenxin::kernels::panel_blocking
