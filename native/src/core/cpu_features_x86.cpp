// x86-64 feature probe: cpuid for what the processor implements, xgetbv for what the OS saves
// on context switches (AVX needs XMM+YMM state, AVX-512 also opmask and both ZMM halves).
#if defined(__x86_64__) || defined(_M_X64)

#include "core/cpu_features.h"

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#else
#include <cpuid.h>
#endif

#include <cstdint>

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace wenxin {

namespace {

struct Regs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Regs cpuid(uint32_t leaf, uint32_t subleaf) {
  Regs r;
#if defined(_MSC_VER) && !defined(__clang__)
  int v[4];
  __cpuidex(v, static_cast<int>(leaf), static_cast<int>(subleaf));
  r = {static_cast<uint32_t>(v[0]), static_cast<uint32_t>(v[1]), static_cast<uint32_t>(v[2]),
       static_cast<uint32_t>(v[3])};
#else
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
#endif
  return r;
}

uint64_t xgetbv0() {
#if defined(_MSC_VER) && !defined(__clang__)
  return _xgetbv(0);
#else
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
#endif
}

bool bit(uint32_t reg, int n) { return (reg >> n) & 1u; }

// Linux saves the AMX tile data (8 KB a thread) only for processes that ask for it first; without the
// grant the first tile instruction faults. Windows manages the state for every process.
bool os_grants_amx() {
#if defined(__linux__)
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#elif defined(_WIN32)
  return true;
#else
  return false;
#endif
}

}  // namespace

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  const uint32_t max_leaf = cpuid(0, 0).eax;
  if (max_leaf < 1) return f;
  const Regs l1 = cpuid(1, 0);
  // OSXSAVE: the OS uses xsave, so XCR0 says which register files it preserves.
  if (!bit(l1.ecx, 27)) return f;
  const uint64_t xcr0 = xgetbv0();
  const bool avx_state = (xcr0 & 0x6) == 0x6;       // XMM, YMM
  const bool avx512_state = (xcr0 & 0xE6) == 0xE6;  // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!avx_state || !bit(l1.ecx, 28)) return f;     // no AVX at all
  f.fma = bit(l1.ecx, 12);
  f.f16c = bit(l1.ecx, 29);
  if (max_leaf < 7) return f;
  const Regs l7 = cpuid(7, 0);
  const Regs l7s1 = l7.eax >= 1 ? cpuid(7, 1) : Regs{};
  f.avx2 = bit(l7.ebx, 5);
  f.avx_vnni = bit(l7s1.eax, 4);
  if (avx512_state) {
    f.avx512f = bit(l7.ebx, 16);
    f.avx512dq = bit(l7.ebx, 17);
    f.avx512bw = bit(l7.ebx, 30);
    f.avx512vl = bit(l7.ebx, 31);
    f.avx512vnni = bit(l7.ecx, 11);
    f.avx512fp16 = bit(l7.edx, 23);
    f.avx512bf16 = bit(l7s1.eax, 5);
  }
  const bool amx_state = (xcr0 & 0x60000) == 0x60000;  // XTILECFG, XTILEDATA
  if (amx_state && bit(l7.edx, 24) && os_grants_amx()) {
    f.amx_tile = true;
    f.amx_bf16 = bit(l7.edx, 22);
    f.amx_int8 = bit(l7.edx, 25);
  }
  return f;
}

}  // namespace wenxin

#endif
