#include "core/cpu_features.h"

#include <utility>

namespace wenxin {

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect_cpu_features();
  return features;
}

std::string describe(const CpuFeatures& f) {
  const std::pair<bool, const char*> all[] = {
      {f.avx2, "avx2"},
      {f.fma, "fma"},
      {f.f16c, "f16c"},
      {f.avx512f, "avx512f"},
      {f.avx512bw, "avx512bw"},
      {f.avx512vl, "avx512vl"},
      {f.avx512dq, "avx512dq"},
      {f.avx512vnni, "avx512vnni"},
      {f.avx512bf16, "avx512bf16"},
      {f.avx512fp16, "avx512fp16"},
      {f.avx_vnni, "avx_vnni"},
      {f.amx_tile, "amx_tile"},
      {f.amx_int8, "amx_int8"},
      {f.amx_bf16, "amx_bf16"},
      {f.neon, "neon"},
      {f.dotprod, "dotprod"},
      {f.i8mm, "i8mm"},
      {f.fp16, "fp16"},
      {f.bf16, "bf16"},
      {f.sve, "sve"},
  };
  std::string out;
  for (const auto& [on, name] : all) {
    if (!on) continue;
    if (!out.empty()) out += ' ';
    out += name;
  }
  return out;
}

#if !defined(__x86_64__) && !defined(_M_X64) && !defined(__aarch64__) && !defined(_M_ARM64)
// Any other architecture runs the generic kernels.
CpuFeatures detect_cpu_features() { return {}; }
#endif

}  // namespace wenxin
