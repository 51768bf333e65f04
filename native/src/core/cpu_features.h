// What the CPU can run, probed once per process from the OS and the processor itself (platform
// layer: the only place that asks the hardware; kernels/dispatch.cpp chooses paths from this).
#pragma once

#include <string>

namespace wenxin {

struct CpuFeatures {
  // x86-64. A feature counts only when the OS also saves its register state (XCR0), so e.g.
  // avx512f is false on a CPU that has it under an OS that has not enabled the ZMM registers.
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false;
  bool avx512bf16 = false, avx512fp16 = false;
  bool avx_vnni = false;  // VEX-encoded vpdpbusd (Alder Lake and later, Zen 5)
  // AMX tiles (Sapphire Rapids and later): true only once the OS has granted this process the tile state.
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;
  // AArch64 (Advanced SIMD is part of the base architecture; the rest are optional extensions).
  bool neon = false;
  bool dotprod = false;  // FEAT_DotProd: sdot/udot
  bool i8mm = false;     // FEAT_I8MM: smmla/usmmla/usdot
  bool fp16 = false;     // FEAT_FP16: half-precision arithmetic
  bool bf16 = false;     // FEAT_BF16: bfdot/bfmmla
  bool sve = false;
};

// Probed on first use (thread-safe), then cached.
const CpuFeatures& cpu_features();

// The features found, space-separated ("avx2 fma f16c avx512f ..."), for diagnostics.
std::string describe(const CpuFeatures& f);

// Per architecture (cpu_features_x86.cpp, cpu_features_arm.cpp): fills what the hardware and OS report.
CpuFeatures detect_cpu_features();

}  // namespace wenxin
