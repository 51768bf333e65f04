// Chooses the kernel table once: the best ISA the CPU supports, unless WENXIN_ISA names another.
// The only file that knows every ISA.
#include <cstdlib>
#include <cstring>

#include "core/cpu_features.h"
#include "kernels/generic/generic.h"
#include "kernels/kernels.h"
#if defined(WENXIN_KERNELS_X86)  // set by CMake when the x86 folders are compiled in
#include "kernels/avx2/avx2.h"
#include "kernels/avx512/avx512.h"
#endif
#if defined(WENXIN_KERNELS_ARM)  // set by CMake when the AArch64 folder is compiled in
#include "kernels/arm/neon.h"
#endif

namespace wenxin::kernels {

namespace {

constexpr Isa kAllIsas[] = {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512, Isa::kNeon, Isa::kNeonDot, Isa::kNeonI8mm};

bool cpu_has(Isa isa) {
  [[maybe_unused]] const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::kGeneric: return true;
#if defined(WENXIN_KERNELS_X86)
    case Isa::kAvx2: return f.avx2 && f.fma && f.f16c;
    case Isa::kAvx512: return f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni;
#endif
#if defined(WENXIN_KERNELS_ARM)
    case Isa::kNeon: return f.neon;
    case Isa::kNeonDot: return f.neon && f.dotprod;
    case Isa::kNeonI8mm: return f.neon && f.dotprod && f.i8mm;
#endif
    default: return false;
  }
}

const KernelTable& choose() {
  const char* forced = std::getenv("WENXIN_ISA");
  if (forced != nullptr && *forced != '\0') {
    for (Isa isa : kAllIsas)
      if (std::strcmp(forced, isa_name(isa)) == 0 && cpu_has(isa)) return *kernels_for(isa);
    // An unknown or unsupported name falls back to the best path rather than failing the load.
  }
  const auto isas = supported_isas();
  return *kernels_for(isas.back());
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kGeneric: return "generic";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kNeon: return "neon";
    case Isa::kNeonDot: return "dotprod";
    case Isa::kNeonI8mm: return "i8mm";
  }
  return "generic";
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : kAllIsas)
    if (cpu_has(isa)) out.push_back(isa);
  return out;
}

const KernelTable* kernels_for(Isa isa) {
  if (!cpu_has(isa)) return nullptr;
  switch (isa) {
    case Isa::kGeneric: return &generic::kTable;
#if defined(WENXIN_KERNELS_X86)
    case Isa::kAvx2: return &avx2::kTable;
    case Isa::kAvx512: return &avx512::kTable;
#endif
#if defined(WENXIN_KERNELS_ARM)
    case Isa::kNeon: return &neon::kTable;
    case Isa::kNeonDot: return &neon_dot::kTable;
    case Isa::kNeonI8mm: return &neon_i8mm::kTable;
#endif
    default: return nullptr;
  }
}

const KernelTable& active_kernels() {
  static const KernelTable& table = choose();
  return table;
}

}  // namespace wenxin::kernels
