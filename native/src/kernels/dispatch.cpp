// Chooses the kernel table once: the best ISA the CPU supports, unless WENXIN_ISA names another.
// The only file that knows every ISA.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/cpu_features.h"
#include "kernels/generic/generic.h"
#include "kernels/kernels.h"
#if defined(WENXIN_KERNELS_X86)  // set by CMake when the x86 folders are compiled in
#include "kernels/amx/amx.h"
#include "kernels/avx2/avx2.h"
#include "kernels/avx512/avx512.h"
#include "kernels/avx_vnni/avx_vnni.h"
#endif
#if defined(WENXIN_KERNELS_ARM)  // set by CMake when the AArch64 folder is compiled in
#include "kernels/arm/neon.h"
#endif

namespace wenxin::kernels {

namespace {

bool cpu_has(Isa isa) {
  [[maybe_unused]] const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::kGeneric: return true;
#if defined(WENXIN_KERNELS_X86)
    case Isa::kAvx2: return f.avx2 && f.fma && f.f16c;
    case Isa::kAvxVnni: return f.avx2 && f.fma && f.f16c && f.avx_vnni;
    case Isa::kAvx512: return f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni;
    case Isa::kAmx: return cpu_has(Isa::kAvx512) && f.amx_tile && f.amx_int8 && f.amx_bf16;
#endif
#if defined(WENXIN_KERNELS_ARM)
    case Isa::kNeon: return f.neon;
    case Isa::kNeonDot: return f.neon && f.dotprod;
    case Isa::kNeonI8mm: return f.neon && f.dotprod && f.i8mm;
#endif
    default: return false;
  }
}

std::string join(const std::vector<Isa>& isas) {
  std::string out;
  for (Isa isa : isas) out += (out.empty() ? "" : ", ") + std::string(isa_name(isa));
  return out;
}

const char* forced_isa() {
  const char* forced = std::getenv("WENXIN_ISA");
  return forced != nullptr && *forced != '\0' ? forced : nullptr;
}

const KernelTable& choose() {
  if (const char* forced = forced_isa()) {
    for (Isa isa : known_isas())
      if (std::strcmp(forced, isa_name(isa)) == 0 && cpu_has(isa)) return *kernels_for(isa);
    // Never a silent fallback: a forced path that cannot run would measure or test another one.
    std::fprintf(stderr, "wenxin: %s\n", isa_override_error().c_str());
    std::abort();
  }
  const auto isas = supported_isas();
  return *kernels_for(isas.back());
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kGeneric: return "generic";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvxVnni: return "avxvnni";
    case Isa::kAvx512: return "avx512";
    case Isa::kAmx: return "amx";
    case Isa::kNeon: return "neon";
    case Isa::kNeonDot: return "dotprod";
    case Isa::kNeonI8mm: return "i8mm";
  }
  return "generic";
}

std::vector<Isa> known_isas() {
#if defined(WENXIN_KERNELS_X86)
  return {Isa::kGeneric, Isa::kAvx2, Isa::kAvxVnni, Isa::kAvx512, Isa::kAmx};
#elif defined(WENXIN_KERNELS_ARM)
  return {Isa::kGeneric, Isa::kNeon, Isa::kNeonDot, Isa::kNeonI8mm};
#else
  return {Isa::kGeneric};
#endif
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : known_isas())
    if (cpu_has(isa)) out.push_back(isa);
  return out;
}

std::string isa_override_error() {
  const char* forced = forced_isa();
  if (forced == nullptr) return {};
  for (Isa isa : known_isas()) {
    if (std::strcmp(forced, isa_name(isa)) != 0) continue;
    if (cpu_has(isa)) return {};
    return std::string("WENXIN_ISA=") + forced + ": this CPU cannot run the " + forced +
           " kernel path (it runs: " + join(supported_isas()) + "; CPU features: " + describe(cpu_features()) + ")";
  }
  return std::string("WENXIN_ISA=") + forced + " names no kernel path of this build (known: " + join(known_isas()) +
         "; this CPU runs: " + join(supported_isas()) + ")";
}

const KernelTable* kernels_for(Isa isa) {
  if (!cpu_has(isa)) return nullptr;
  switch (isa) {
    case Isa::kGeneric: return &generic::kTable;
#if defined(WENXIN_KERNELS_X86)
    case Isa::kAvx2: return &avx2::kTable;
    case Isa::kAvxVnni: return &avx_vnni::kTable;
    case Isa::kAvx512: return &avx512::kTable;
    case Isa::kAmx: return &amx::table();
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
