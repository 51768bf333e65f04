// The AMX table: AVX-512's, with the products AMX speeds up replaced. Compiled only with this folder's
// flags; reached only through dispatch.cpp when the CPU has AMX and the OS lets this process use it.
#include "kernels/amx/amx.h"

#include "kernels/avx512/avx512.h"

namespace wenxin::kernels::amx {

const KernelTable& table() {
  static const KernelTable t = [] {
    KernelTable amx = avx512::kTable;
    amx.name = "amx";
    amx.gemm_panels_bf16 = gemm_panels_bf16;
    amx.gemm_rows_bf16 = gemm_rows_bf16;
    amx.gemm_rows_quantized_bf16 = gemm_rows_quantized_bf16;
    amx.round_bf16 = round_bf16;
    amx.split_bf16 = split_bf16;
    amx.attention = attention;
    amx.attention_rows = 512;
    return amx;
  }();
  return t;
}

}  // namespace wenxin::kernels::amx
