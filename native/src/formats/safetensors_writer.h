// Writes a safetensors file from tensors that live elsewhere (memory maps, quantized buffers).
#pragma once

#include <cstdint>
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
};

Status write_safetensors(const std::string& path, const std::vector<OutTensor>& tensors,
                         const std::map<std::string, std::string>& metadata);

}  // namespace wenxin
