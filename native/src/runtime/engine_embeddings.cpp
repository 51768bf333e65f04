// Embedding requests in the engine: each input becomes a sequence that the scheduler runs like a
// prompt (chunks within the step's token budget, beside other requests' decoding, cancellable and
// preemptible); its final hidden states are summed as they are computed, and the request's result
// goes out once every input has its mean-pooled, L2-normalised vector.
#include <cmath>
#include <string>

#include "runtime/engine.h"
#include "runtime/engine_reports.h"

namespace wenxin::runtime {

Status Engine::submit_embedding(EmbeddingRequest request) {
  if (request.inputs.empty()) return Status(ErrorCode::kInvalidArgument, "no inputs were given");
  int64_t total = 0;
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    const std::string what = "input " + std::to_string(i);
    WENXIN_RETURN_IF_ERROR(check_tokens(request.inputs[i], what.c_str()));
    const int64_t n = static_cast<int64_t>(request.inputs[i].size());
    if (n > kv_pool_->capacity_tokens())
      return Status(ErrorCode::kKvCacheFull, what + " has " + std::to_string(n) +
                                                 " tokens, more than the whole KV cache budget of " +
                                                 std::to_string(kv_pool_->capacity_tokens()));
    total += n;
  }
  if (total > max_embedding_tokens_)
    return Status(ErrorCode::kInvalidArgument, "the embedding request has " + std::to_string(total) + " tokens over " +
                                                   std::to_string(request.inputs.size()) +
                                                   " inputs, more than maxEmbeddingTokens " +
                                                   std::to_string(max_embedding_tokens_) + " allows for one request");
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return Status(ErrorCode::kEngineClosed, "the engine is closed");
  incoming_embeddings_.push_back(std::move(request));
  wake_.notify_one();
  return Status::ok();
}

void Engine::admit_embeddings(std::deque<EmbeddingRequest>* incoming, EngineReport* report) {
  const int64_t H = hparams().hidden_size;
  for (EmbeddingRequest& r : *incoming) {
    try {
      EmbeddingTask& task = embedding_tasks_[r.id];
      task.inputs = static_cast<int64_t>(r.inputs.size());
      task.vectors.resize(static_cast<size_t>(task.inputs * H));
      for (size_t i = 0; i < r.inputs.size(); ++i) {
        GenerateRequest as_prompt;
        as_prompt.id = r.id;
        as_prompt.prompt = std::move(r.inputs[i]);
        as_prompt.adapter = r.adapter;
        auto s = std::make_unique<Sequence>(std::move(as_prompt), kv_pool_.get());
        s->embedding_input = static_cast<int64_t>(i);
        scheduler_->enqueue(std::move(s));
      }
    } catch (...) {
      embedding_tasks_.erase(r.id);
      scheduler_->remove_all(r.id);
      report->embeddings.push_back(EmbeddingResult{r.id, internal_error("starting the embedding request"), {}});
    }
  }
  incoming->clear();
}

void Engine::pool_embedding(const StepWork& w, const float* rows, EngineReport* report) {
  Sequence* s = w.sequence;
  const int64_t H = hparams().hidden_size;
  const int64_t end = s->cache->length(), first = end - w.count;  // the positions this step computed
  s->hidden_sum.resize(static_cast<size_t>(H), 0.0);
  // A preempted input computes its positions again: each is summed once.
  for (int64_t p = std::max(first, s->hidden_summed); p < end; ++p)
    for (int64_t j = 0; j < H; ++j) s->hidden_sum[j] += rows[(p - first) * H + j];
  s->hidden_summed = std::max(s->hidden_summed, end);
  if (end < static_cast<int64_t>(s->tokens.size())) return;

  const uint64_t id = s->request.id;
  auto it = embedding_tasks_.find(id);
  std::unique_ptr<Sequence> done = scheduler_->remove(s);
  if (it == embedding_tasks_.end()) return;
  // Mean over positions, then L2 normalisation.
  const double T = static_cast<double>(done->tokens.size());
  double norm = 0;
  for (double& v : done->hidden_sum) {
    v /= T;
    norm += v * v;
  }
  norm = std::sqrt(norm);
  float* out = it->second.vectors.data() + done->embedding_input * H;
  for (int64_t j = 0; j < H; ++j) out[j] = static_cast<float>(norm > 0 ? done->hidden_sum[j] / norm : 0.0);
  if (++it->second.done < it->second.inputs) return;
  report->embeddings.push_back(EmbeddingResult{id, Status::ok(), std::move(it->second.vectors)});
  embedding_tasks_.erase(it);
}

}  // namespace wenxin::runtime
