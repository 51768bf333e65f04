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
  // > 0: peft's LoRA on a fused MoE parameter of this many routed experts, `module` naming it
  // ("model.layers.1.mlp.experts.gate_up_proj" or "….down_proj"); A is [experts·rank, in] and B
  // [out, experts·rank] (gate_up_proj's out stacks gate's rows over up's).
  int64_t experts = 0;
};

}  // namespace wenxin
