// AVX-VNNI (VEX-encoded vpdpbusd: Alder Lake and later, Zen 5) on top of AVX2: the same tiles and
// every kernel of the AVX2 path but the packed q8/q4 products, which take vpdpbusd.
#pragma once
#include "kernels/kernels.h"
namespace wenxin::kernels::avx_vnni {
extern const KernelTable kTable;
}
