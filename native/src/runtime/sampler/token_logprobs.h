// Log-probabilities of a logits row for requests that ask for them (OpenAI's `logprobs`).
#pragma once

#include <cstdint>

#include "wenxin/requests.h"

namespace wenxin::runtime {

// log softmax(raw)[chosen] and the `top` most likely tokens of `raw` (largest first).
TokenLogprob token_logprob(const float* raw, int64_t vocab, int32_t chosen, int32_t top);

}  // namespace wenxin::runtime
