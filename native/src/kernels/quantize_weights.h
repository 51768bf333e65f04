// The weight quantizers: one float row into the q8, q4 and fp8 layouts of quant_formats.h. Used
// when a model is quantized at load or by `wenxin quantize`, and when GGUF K-quants are re-laid
// as q8. For q8 and q4, `k` is a multiple of kQBlock.
#pragma once

#include <cstdint>

namespace wenxin::kernels {

// Blocks of 32: an fp16 scale (the block's largest magnitude / 127), quants offset by +128.
void quantize_weight_row_q8(const float* row, int64_t k, uint16_t* block_scales, uint8_t* out);

// Blocks of 32 in the Q4_0 style (the largest-magnitude value maps to -8, the scale keeps its
// sign), nibbles offset by +8 and packed per 64-element chunk.
void quantize_weight_row_q4(const float* row, int64_t k, uint16_t* block_scales, uint8_t* out);

// e4m3 bytes with one float scale for the row (its largest magnitude maps to 448, e4m3's maximum).
void quantize_weight_row_fp8(const float* row, int64_t k, float* row_scale, uint8_t* out);

}  // namespace wenxin::kernels
