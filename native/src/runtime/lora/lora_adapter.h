// Loading LoRA adapters into the model's layers (unmerged) and taking them out again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "model/ernie4_5/model.h"
#include "wenxin/status.h"

namespace wenxin::runtime {

struct LoraTensorRef {
  std::string file;
  int64_t offset = 0;  // absolute byte offset of the data in `file`
  int64_t bytes = 0;
  DType dtype = DType::kUnknown;
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

// Checks every module against the model and reads its A/B matrices; attaches all or none.
Status load_lora_adapter(model::Ernie45Model& model, int32_t id, const std::vector<LoraModuleRef>& modules);
void unload_lora_adapter(model::Ernie45Model& model, int32_t id);

}  // namespace wenxin::runtime
