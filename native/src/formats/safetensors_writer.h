// Writes a safetensors file from tensors that live elsewhere (memory maps, quantized buffers).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "wenxin/status.h"

namespace wenxin {

struct OutTensor {
  std::string name;
  std::string dtype;  // safetensors spelling: F32, F16, BF16, U8, …
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t bytes = 0;
  // When `data` is null: writes the tensor's `bytes` bytes into the buffer given, just before they are
  // written (tensors made on the fly, one at a time, so they need not all be held at once).
  std::function<void(uint8_t* out)> fill;
};

Status write_safetensors(const std::string& path, const std::vector<OutTensor>& tensors,
                         const std::map<std::string, std::string>& metadata);

}  // namespace wenxin
