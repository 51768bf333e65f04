// Scratch buffers of one model step (Ernie45Model::forward), owned by that step: sized by the step's
// tokens at first use and reused by every layer of the step, then freed with it. A decode step's are a
// few KB; a 512-token prefill's are mapped once per step instead of once per layer, and a long prompt's
// high-water size is not kept after it.
#pragma once

#include <vector>

#include "core/aligned_vector.h"

namespace wenxin::model {

struct StepScratch {
  std::vector<float> gate, up;                // ffn_forward: [tokens, width]
  aligned_vector<float> q, k, v, ctx;         // attention_forward: projections and context (rows on cache lines)
  std::vector<float> part_o, part_m, part_l;  // attention's split-KV partials
};

}  // namespace wenxin::model
