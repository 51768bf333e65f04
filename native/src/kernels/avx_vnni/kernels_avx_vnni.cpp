// AVX-VNNI kernels: the AVX2 tiles (avx2/avx2.h) with int32 accumulation by vpdpbusd, so a q8
// product is one instruction per register instead of sign + maddubs + madd + add. Compiled with this
// folder's flags only; reached only through dispatch.cpp when the CPU reports avx_vnni.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/attention_x86.h"
#include "kernels/avx2/avx2.h"
#include "kernels/avx_vnni/avx_vnni.h"
#include "kernels/gemv_segments.h"
#include "kernels/generic/generic.h"
#include "kernels/next_groups_prefetch.h"
#include "kernels/panel_blocking.h"

// WENXIN_EMULATE_VNNI (the kernel tests' second build of this file, avx_vnni_emulated::kTable): the
// same kernels with vpdpbusd emulated exactly in AVX2, so their logic runs on CPUs without AVX-VNNI.
#if defined(WENXIN_EMULATE_VNNI)
namespace wenxin::kernels::avx_vnni_emulated {
extern const KernelTable kTable;  // external linkage, as avx_vnni.h gives the real one
#else
namespace wenxin::kernels::avx_vnni {
#endif

namespace {

#if defined(WENXIN_EMULATE_VNNI)
// acc + per int32 lane the sum of 4 products unsigned byte × signed byte, exactly as vpdpbusd.
inline __m256i emulated_dpbusd(__m256i acc, __m256i u, __m256i s) {
  const __m256i u_even = _mm256_and_si256(u, _mm256_set1_epi16(0x00FF)), u_odd = _mm256_srli_epi16(u, 8);
  const __m256i s_even = _mm256_srai_epi16(_mm256_slli_epi16(s, 8), 8), s_odd = _mm256_srai_epi16(s, 8);
  return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(u_even, s_even), _mm256_madd_epi16(u_odd, s_odd)));
}
#define WENXIN_DPBUSD emulated_dpbusd
#else
#define WENXIN_DPBUSD _mm256_dpbusd_avx_epi32
#endif
#define WENXIN_PACKED_VNNI 1
#include "kernels/avx2/packed_tile.inc"
#undef WENXIN_PACKED_VNNI
#undef WENXIN_DPBUSD

static_assert(kTileRows == avx2::kPackRowsAvx2);

template <bool Q4>
void gemm(const QuantizedActivations& x, const QuantizedMatrix& w, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  if (w.packed)
    packed_gemm_typed<Q4>(x, w.packed, n0, n1, y, ldy);
  else
    (Q4 ? avx2::kTable.gemm_q4 : avx2::kTable.gemm_q8)(x, w, n0, n1, y, ldy);
}

}  // namespace

const KernelTable kTable = {
#if defined(WENXIN_EMULATE_VNNI)
    .name = "avxvnni-emulated",
#else
    .name = "avxvnni",
#endif
    .gemm_float = avx2::shared::gemm_float,
    .quantize_row_q8 = avx2::shared::quantize_row_q8,
    .gemm_q8 = gemm<false>,
    .gemm_q4 = gemm<true>,
    .repack = avx2::repack,
    .pack_rows = avx2::kPackRowsAvx2,
    .pack_block_bytes_q8 = avx2::kPackBlockBytesQ8Avx2,
    .pack_block_bytes_q4 = avx2::kPackBlockBytesQ4Avx2,
    .gemm_fp8 = generic::gemm_fp8,
    .attention = avx2::shared::attention,
    .dot_f32 = avx2::shared::dot,
    .axpy_f32 = avx2::shared::axpy,
    .dequantize = avx2::dequantize,
    .interleaved_q4_tiles = true,
    .gemm_panels = avx2::gemm_panels,
    .gemm_panels_bf16 = avx2::gemm_panels_bf16,
    .round_bf16 = avx2::round_bf16,
    .exp_f32 = avx2::exp_f32,
    .silu_mul_f32 = avx2::shared::silu_mul,
    .silu_mul_grad_f32 = avx2::shared::silu_mul_grad,
    .max_f32 = avx2::shared::max_value,
    .exp_sum_f32 = avx2::shared::exp_sum,
    .panels_bf16_depth = panel_blocking::kWidenedPairsDepth,
};

}  // namespace wenxin::kernels::avx_vnni(_emulated)
