// Turns a logits row into the next token, as transformers' generate() does: the repetition
// penalty, then temperature, top-k, top-p and min-p, then a seeded draw (or argmax when greedy).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace wenxin::runtime {

struct SamplingParams {
  bool greedy = true;
  float temperature = 1.0f;
  int32_t top_k = 0;   // 0: off
  float top_p = 1.0f;  // 1: off
  float min_p = 0.0f;  // 0: off
  float repetition_penalty = 1.0f;
  uint64_t seed = 0;
};

// Applies the processors in transformers' order, in place; removed entries become -inf.
// `history` holds the ids the repetition penalty sees (prompt and generated so far).
void apply_logits_processors(float* logits, int64_t vocab, const std::vector<int32_t>& history,
                             const SamplingParams& params);

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

  // Processes `logits` in place and picks a token.
  int32_t sample(float* logits, int64_t vocab, const std::vector<int32_t>& history);

 private:
  double uniform();  // [0, 1), the same stream on every platform for one seed

  SamplingParams params_;
  std::mt19937_64 rng_;
};

}  // namespace wenxin::runtime
