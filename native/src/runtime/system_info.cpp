// wenxin/system_info.h: the kernel paths (kernels/dispatch.cpp) as names.
#include "wenxin/system_info.h"
#include "kernels/kernels.h"

namespace wenxin {

KernelPaths kernel_paths() {
  KernelPaths p;
  p.error = kernels::isa_override_error();
  if (p.error.empty()) p.active = kernels::active_kernels().name;
  for (kernels::Isa isa : kernels::supported_isas()) p.supported.emplace_back(kernels::isa_name(isa));
  return p;
}

}  // namespace wenxin
