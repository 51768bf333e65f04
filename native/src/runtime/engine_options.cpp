// EngineOptions (wenxin/engine_options.h): checked against the model's shape before any weight
// is mapped, so a bad option fails at once and names itself.
#include <algorithm>
#include <string>

#include "runtime/kv_budget.h"
#include "wenxin/engine_options.h"

namespace wenxin {

namespace runtime {

kv::KvCacheShape kv_cache_shape(const Ernie45Hparams& hp, const EngineOptions& options) {
  return kv::KvCacheShape{hp.num_layers, hp.num_kv_heads, hp.head_dim, 32, options.kv_precision};
}

int64_t kv_budget_tokens(const Ernie45Hparams& hp, const EngineOptions& o) {
  if (o.kv_cache_bytes > 0) return o.kv_cache_bytes / kv_cache_shape(hp, o).bytes_per_token();
  return o.kv_cache_tokens;
}

}  // namespace runtime

namespace {

Status bad(const std::string& what) { return Status(ErrorCode::kInvalidArgument, what); }

}  // namespace

int64_t EngineOptions::context_for(const Ernie45Hparams& hp) const {
  return hp.max_position_embeddings > 0 ? std::min(max_context, hp.max_position_embeddings) : max_context;
}

Status EngineOptions::validate(const Ernie45Hparams& hp) const {
  WENXIN_RETURN_IF_ERROR(hp.validate());
  if (threads < 1 || threads > 1024) return bad("threads must be in 1..1024, got " + std::to_string(threads));
  if (max_context < 1) return bad("maxContext must be >= 1, got " + std::to_string(max_context));
  if (max_batch_tokens < 1) return bad("maxBatchTokens must be >= 1, got " + std::to_string(max_batch_tokens));
  if (max_embedding_tokens < 1)
    return bad("maxEmbeddingTokens must be >= 1, got " + std::to_string(max_embedding_tokens));
  if (max_sequences < 1) return bad("maxSequences must be >= 1, got " + std::to_string(max_sequences));
  if (kv_cache_bytes < 0) return bad("kvCacheBytes must be >= 1, got " + std::to_string(kv_cache_bytes));
  if (kv_cache_tokens < 0) return bad("kvCacheTokens must be >= 1, got " + std::to_string(kv_cache_tokens));
  if (kv_cache_bytes == 0 && kv_cache_tokens == 0) return bad("kvCacheBytes or kvCacheTokens must be given");
  const kv::KvCacheShape shape = runtime::kv_cache_shape(hp, *this);
  // Keep every derived size inside int64 (budget × bytes per token).
  const int64_t budget = runtime::kv_budget_tokens(hp, *this);
  if (budget < shape.block_tokens)
    return bad("the KV cache budget holds " + std::to_string(budget) + " tokens, less than one block of " +
               std::to_string(shape.block_tokens) + " (" + std::to_string(shape.bytes_per_token()) +
               " bytes per token)");
  if (budget > (int64_t{1} << 62) / shape.bytes_per_token())
    return bad("the KV cache budget of " + std::to_string(budget) + " tokens is impossibly large");
  return Status::ok();
}

}  // namespace wenxin
