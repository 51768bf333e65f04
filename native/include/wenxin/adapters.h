// LoRA adapters as the engine loads them: per adapted layer, where its A and B matrices lie in
// the adapter's files (the JS side reads the safetensors headers; the engine reads the bytes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wenxin {

struct LoraTensorRef {
  std::string file;
  int64_t offset = 0;  // absolute byte offset of the data in `file`
  int64_t bytes = 0;
  std::string dtype;  // safetensors spelling: F32, F16, BF16
  std::vector<int64_t> shape;
};

struct LoraModuleRef {
  std::string module;  // checkpoint name of the adapted layer
  float scaling = 1.0f;
  LoraTensorRef a;  // [rank, in]
  LoraTensorRef b;  // [out, rank]
};

}  // namespace wenxin
