// How the next token is chosen, as transformers' generate() does: the repetition penalty, then
// temperature, top-k, top-p and min-p, then a seeded draw (or argmax when greedy).
#pragma once

#include <cstdint>
#include <vector>

namespace wenxin {

struct SamplingParams {
  bool greedy = true;
  float temperature = 1.0f;
  int32_t top_k = 0;   // 0: off
  float top_p = 1.0f;  // 1: off
  float min_p = 0.0f;  // 0: off
  float repetition_penalty = 1.0f;
  uint64_t seed = 0;
};

// Applies the processors in transformers' order, in place; removed entries become -inf. NaN
// logits count as removed and +inf as the largest finite value.
// `history` holds the ids the repetition penalty sees (prompt and generated so far).
// (runtime/sampler/sampler.cpp; exported to JS so tests compare it with transformers.)
void apply_logits_processors(float* logits, int64_t vocab, const std::vector<int32_t>& history,
                             const SamplingParams& params);

}  // namespace wenxin
