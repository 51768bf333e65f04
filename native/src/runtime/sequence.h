// One generation request inside the engine: its tokens so far, its share of the KV cache and its
// own sampling state. The KV cache holds tokens[0, cache->length()); the rest is computed in the
// coming steps (a prompt in chunks, one sampled token at a time, or everything again after a
// preemption), and a token is sampled once every token has been computed.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "kv_cache/kv_cache.h"
#include "runtime/grammar/constraint.h"
#include "runtime/sampler/sampler.h"
#include "wenxin/requests.h"

namespace wenxin::runtime {

struct Sequence {
  GenerateRequest request;
  std::unique_ptr<kv::KvSequence> cache;
  Sampler sampler;
  std::vector<int32_t> tokens;  // prompt + generated
  int32_t generated = 0;
  std::unique_ptr<grammar::Constraint> constraint;  // null when the request has none
  // Input `embedding_input` of the embedding request `request.id` (-1: a generation): its tokens
  // are computed, never sampled, and their final hidden states summed once per position.
  int64_t embedding_input = -1;
  std::vector<double> hidden_sum;
  int64_t hidden_summed = 0;  // positions [0, hidden_summed) are in hidden_sum (kept over preemption)
  // Set once the request was paused (its consumer fell behind): from then on it is background work,
  // served after the requests whose consumers keep up (see Scheduler::plan).
  bool background = false;

  Sequence(GenerateRequest r, kv::KvBlockPool* pool)
      : request(std::move(r)),
        cache(std::make_unique<kv::KvSequence>(pool)),
        sampler(request.sampling),
        tokens(request.prompt) {
    if (request.grammar && request.vocabulary)
      constraint = std::make_unique<grammar::Constraint>(request.grammar, request.vocabulary, request.trigger,
                                                         request.stop_ids, request.rearm);
  }

  bool embedding() const { return embedding_input >= 0; }
  // Tokens still to run through the model before the next one can be sampled.
  int64_t pending() const { return static_cast<int64_t>(tokens.size()) - cache->length(); }
  int32_t prompt_tokens() const { return static_cast<int32_t>(request.prompt.size()); }
};

}  // namespace wenxin::runtime
