// Turns a logits row into the next token with a request's SamplingParams (wenxin/sampling.h).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "wenxin/sampling.h"

namespace wenxin::runtime {

// NaN logits are removed (-inf) and +inf ones become the largest finite float, so that every
// comparison the processors make is a strict weak order and every softmax has a finite maximum.
// apply_logits_processors does this first; returns whether any logit is left (not -inf).
bool sanitize_logits(float* logits, int64_t vocab);

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
