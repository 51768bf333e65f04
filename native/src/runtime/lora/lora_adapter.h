// Loading LoRA adapters (wenxin/adapters.h) into the model's layers (unmerged) and taking them out again.
#pragma once

#include <cstdint>
#include <vector>

#include "model/ernie4_5/model.h"
#include "wenxin/adapters.h"
#include "wenxin/status.h"

namespace wenxin::runtime {

// Checks every module against the model and reads its A/B matrices; attaches all or none.
Status load_lora_adapter(model::Ernie45Model& model, int32_t id, const std::vector<LoraModuleRef>& modules);
void unload_lora_adapter(model::Ernie45Model& model, int32_t id);

}  // namespace wenxin::runtime
