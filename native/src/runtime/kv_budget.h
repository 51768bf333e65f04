// The KV cache an engine's options ask for: its block shape and its budget in tokens
// (defined with EngineOptions::validate in runtime/engine_options.cpp).
#pragma once

#include <cstdint>

#include "kv_cache/kv_layout.h"
#include "wenxin/engine_options.h"
#include "wenxin/hparams.h"

namespace wenxin::runtime {

kv::KvCacheShape kv_cache_shape(const Ernie45Hparams& hp, const EngineOptions& options);

// kv_cache_bytes over the bytes per token if set, else kv_cache_tokens (the caller resolves the
// default budget: LOAD_DEFAULTS in packages/engine/src/engine.ts).
int64_t kv_budget_tokens(const Ernie45Hparams& hp, const EngineOptions& options);

}  // namespace wenxin::runtime
