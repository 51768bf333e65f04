// The KV cache an engine's options ask for: its block shape and its budget in tokens
// (defined with EngineOptions::validate in runtime/engine_options.cpp).
#pragma once

#include <cstdint>

#include "kv_cache/kv_layout.h"
#include "wenxin/engine_options.h"
#include "wenxin/hparams.h"

namespace wenxin::runtime {

kv::KvCacheShape kv_cache_shape(const Ernie45Hparams& hp, const EngineOptions& options);

// Bytes if set, else tokens if set, else max_sequences × context when max_sequences is set, else
// 4 × context tokens.
int64_t kv_budget_tokens(const Ernie45Hparams& hp, const EngineOptions& options);

}  // namespace wenxin::runtime
