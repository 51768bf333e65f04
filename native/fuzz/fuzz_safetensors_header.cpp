// Fuzz target: a whole safetensors image (8-byte length, JSON header, data). Every tensor the
// parser accepts must lie inside the image; the finite-check pass then reads each float tensor
// end to end, so a view that escaped the buffer is an AddressSanitizer report.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "formats/finite_check.h"
#include "formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::pair<std::string, wenxin::TensorView>> tensors;
  const wenxin::Status st = wenxin::parse_safetensors(data, size, "fuzz.safetensors", &tensors);
  if (!st.is_ok()) {
    if (st.message().find("fuzz.safetensors") == std::string::npos) __builtin_trap();  // errors name the file
    return 0;
  }
  for (const auto& [name, view] : tensors) {
    const size_t width = wenxin::dtype_size(view.dtype);
    const int64_t n = view.numel();
    if (width == 0 || n == 0) continue;
    const auto* bytes = static_cast<const uint8_t*>(view.data);
    volatile uint8_t sink = bytes[0] ^ bytes[n * width - 1];  // both ends of the view are readable
    (void)sink;
    if (wenxin::all_finite(bytes, view.dtype, n) != (wenxin::first_non_finite(bytes, view.dtype, n) < 0))
      __builtin_trap();
  }
  return 0;
}
