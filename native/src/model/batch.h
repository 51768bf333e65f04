// What one forward step computes: a flat list of tokens from one or more sequences, each
// with its position and the KV cache it belongs to. Prefill (many tokens of one sequence)
// and decode (one token each of many sequences) are the same thing here.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kv_cache/kv_cache.h"

namespace wenxin::model {

struct Batch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> positions;
  std::vector<kv::KvSequence*> caches;  // per token; the cache must have room for the position
  std::vector<uint8_t> want_logits;     // per token: compute the LM head for this row
  std::vector<int32_t> adapters;        // per token: the LoRA adapter id of its request, -1 for none

  void add(int32_t token, int32_t position, kv::KvSequence* cache, bool logits, int32_t adapter = -1) {
    tokens.push_back(token);
    positions.push_back(position);
    caches.push_back(cache);
    want_logits.push_back(logits ? 1 : 0);
    adapters.push_back(adapter);
  }
  size_t size() const { return tokens.size(); }
  // The adapter ids for the layers, or nullptr when no token of the step uses one.
  const int32_t* adapter_ids() const {
    for (int32_t a : adapters)
      if (a >= 0) return adapters.data();
    return nullptr;
  }
  void clear() {
    tokens.clear();
    positions.clear();
    caches.clear();
    want_logits.clear();
    adapters.clear();
  }
};

// Named intermediates, recorded only when asked for (golden comparisons, debugging).
struct Trace {
  std::vector<std::pair<std::string, std::vector<float>>> tensors;
  void record(const std::string& name, const float* data, size_t count) {
    tensors.emplace_back(name, std::vector<float>(data, data + count));
  }
};

struct StepOutput {
  std::vector<float> logits;                   // [rows with want_logits, vocab], in batch order
  std::vector<float>* final_hidden = nullptr;  // if set: [tokens, hidden] after the final norm
  Trace* trace = nullptr;                      // if set: hidden_states.<i>, router_logits.<layer>
};

}  // namespace wenxin::model
