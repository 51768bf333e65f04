// AArch64 feature probe. User space cannot read the ID registers portably, so each OS answers:
// Linux/Android through the auxiliary vector (HWCAP bits), macOS through sysctl
// (hw.optional.arm.FEAT_*), Windows through IsProcessorFeaturePresent. Advanced SIMD (NEON) is
// part of the base AArch64 architecture.
#if defined(__aarch64__) || defined(_M_ARM64)

#include "core/cpu_features.h"

#if defined(__linux__)
#include <sys/auxv.h>
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#elif defined(_WIN32)
#include <windows.h>
#endif

namespace wenxin {

namespace {

#if defined(__linux__)
// Bit numbers from the kernel's arch/arm64/include/uapi/asm/hwcap.h (stable ABI), spelled out so
// that older libc headers still build.
constexpr unsigned long kHwcapAsimd = 1ul << 1;
constexpr unsigned long kHwcapAsimdHp = 1ul << 10;
constexpr unsigned long kHwcapAsimdDp = 1ul << 20;
constexpr unsigned long kHwcapSve = 1ul << 22;
constexpr unsigned long kHwcap2I8mm = 1ul << 13;
constexpr unsigned long kHwcap2Bf16 = 1ul << 14;
#elif defined(__APPLE__)
bool sysctl_flag(const char* name) {
  int value = 0;
  size_t size = sizeof(value);
  return sysctlbyname(name, &value, &size, nullptr, 0) == 0 && value != 0;
}
#endif

}  // namespace

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
#if defined(__linux__)
  const unsigned long hwcap = getauxval(AT_HWCAP), hwcap2 = getauxval(AT_HWCAP2);
  f.neon = (hwcap & kHwcapAsimd) != 0;
  f.fp16 = (hwcap & kHwcapAsimdHp) != 0;
  f.dotprod = (hwcap & kHwcapAsimdDp) != 0;
  f.sve = (hwcap & kHwcapSve) != 0;
  f.i8mm = (hwcap2 & kHwcap2I8mm) != 0;
  f.bf16 = (hwcap2 & kHwcap2Bf16) != 0;
#elif defined(__APPLE__)
  f.neon = true;
  f.dotprod = sysctl_flag("hw.optional.arm.FEAT_DotProd");
  f.i8mm = sysctl_flag("hw.optional.arm.FEAT_I8MM");
  f.fp16 = sysctl_flag("hw.optional.arm.FEAT_FP16");
  f.bf16 = sysctl_flag("hw.optional.arm.FEAT_BF16");
#elif defined(_WIN32)
  f.neon = true;
  f.dotprod = IsProcessorFeaturePresent(43 /* PF_ARM_V82_DP_INSTRUCTIONS_AVAILABLE */) != 0;
  // Windows names no i8mm/bf16 feature in the SDKs this builds with: those paths stay off there.
#else
  f.neon = true;
#endif
  return f;
}

}  // namespace wenxin

#endif
