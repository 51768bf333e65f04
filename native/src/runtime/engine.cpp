#include "runtime/engine.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include "runtime/grammar/constraint.h"

namespace wenxin::runtime {

struct Engine::Sequence {
  GenerateRequest request;
  std::unique_ptr<kv::KvSequence> cache;
  Sampler sampler;
  std::vector<int32_t> history;  // prompt + generated, for the repetition penalty
  int32_t generated = 0;
  bool prefilled = false;
  std::unique_ptr<grammar::Constraint> constraint;  // null when the request has none

  Sequence(GenerateRequest r, kv::KvBlockPool* pool)
      : request(std::move(r)), cache(std::make_unique<kv::KvSequence>(pool)), sampler(request.sampling),
        history(request.prompt) {
    if (request.grammar && request.vocabulary)
      constraint = std::make_unique<grammar::Constraint>(request.grammar, request.vocabulary, request.trigger, request.stop_ids);
  }
};

Status Engine::create(const model::Ernie45Hparams& hp, const std::vector<std::string>& files,
                      const EngineOptions& options, std::unique_ptr<Engine>* out) {
  if (options.threads < 1 || options.threads > 1024)
    return Status(ErrorCode::kInvalidArgument, "threads must be in 1..1024, got " + std::to_string(options.threads));
  if (options.max_context < 1)
    return Status(ErrorCode::kInvalidArgument, "maxContext must be >= 1, got " + std::to_string(options.max_context));
  auto e = std::unique_ptr<Engine>(new Engine());
  e->pool_ = std::make_unique<ThreadPool>(options.threads);
  WENXIN_RETURN_IF_ERROR(model::Ernie45Model::load(hp, files, options.weights, *e->pool_, &e->model_));
  e->max_context_ = hp.max_position_embeddings > 0 ? std::min(options.max_context, hp.max_position_embeddings)
                                                   : options.max_context;
  const int64_t budget = options.kv_cache_tokens > 0 ? options.kv_cache_tokens : 4 * e->max_context_;
  e->kv_pool_ = std::make_unique<kv::KvBlockPool>(kv::KvCacheShape{hp.num_layers, hp.kv_dim(), 32}, budget);
  *out = std::move(e);
  return Status::ok();
}

Engine::~Engine() { shutdown(); }

void Engine::start(EventSink sink) {
  sink_ = std::move(sink);
  worker_ = std::thread([this] { loop(); });
}

Status Engine::check_tokens(const std::vector<int32_t>& ids, const char* what) const {
  if (ids.empty()) return Status(ErrorCode::kInvalidArgument, std::string(what) + " is empty");
  if (static_cast<int64_t>(ids.size()) > max_context_)
    return Status(ErrorCode::kContextOverflow, std::string(what) + " has " + std::to_string(ids.size()) +
                                                   " tokens, more than the context of " + std::to_string(max_context_));
  const int64_t vocab = hparams().vocab_size;
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      return Status(ErrorCode::kTokenOutOfRange, std::string(what) + " token id " + std::to_string(ids[i]) +
                                                     " at index " + std::to_string(i) + " is outside the vocabulary [0, " +
                                                     std::to_string(vocab) + ")");
  return Status::ok();
}

Status Engine::submit(GenerateRequest request) {
  WENXIN_RETURN_IF_ERROR(check_tokens(request.prompt, "the prompt"));
  if (static_cast<int64_t>(request.prompt.size()) >= max_context_)
    return Status(ErrorCode::kContextOverflow, "the prompt has " + std::to_string(request.prompt.size()) +
                                                   " tokens and leaves no room to generate in a context of " +
                                                   std::to_string(max_context_));
  if (request.max_new_tokens < 1)
    return Status(ErrorCode::kInvalidArgument, "maxNewTokens must be >= 1, got " + std::to_string(request.max_new_tokens));
  const SamplingParams& s = request.sampling;
  if (!s.greedy && !(s.temperature > 0)) return Status(ErrorCode::kInvalidArgument, "temperature must be > 0");
  if (!(s.top_p > 0 && s.top_p <= 1)) return Status(ErrorCode::kInvalidArgument, "topP must be in (0, 1]");
  if (!(s.min_p >= 0 && s.min_p <= 1)) return Status(ErrorCode::kInvalidArgument, "minP must be in [0, 1]");
  if (!(s.repetition_penalty > 0)) return Status(ErrorCode::kInvalidArgument, "repetitionPenalty must be > 0");
  if (s.top_k < 0) return Status(ErrorCode::kInvalidArgument, "topK must be >= 0");
  if (request.grammar && !request.vocabulary)
    return Status(ErrorCode::kInvalidArgument, "a constrained request needs the engine's vocabulary (set_vocabulary)");
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return Status(ErrorCode::kEngineClosed, "the engine is closed");
  incoming_.push_back(std::move(request));
  wake_.notify_one();
  return Status::ok();
}

void Engine::cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_.insert(id);
  wake_.notify_one();
}

Status Engine::submit_job(JobRequest job) {
  const bool adapter_job = job.kind == JobRequest::Kind::kLoadAdapter || job.kind == JobRequest::Kind::kUnloadAdapter;
  if (job.inputs.empty() && !adapter_job) return Status(ErrorCode::kInvalidArgument, "no inputs were given");
  for (const auto& in : job.inputs) WENXIN_RETURN_IF_ERROR(check_tokens(in, "the input"));
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return Status(ErrorCode::kEngineClosed, "the engine is closed");
  jobs_.push_back(std::move(job));
  wake_.notify_one();
  return Status::ok();
}

void Engine::set_vocabulary(std::shared_ptr<const grammar::Vocabulary> vocabulary) {
  std::lock_guard<std::mutex> lock(mu_);
  vocabulary_ = std::move(vocabulary);
}

std::shared_ptr<const grammar::Vocabulary> Engine::vocabulary() {
  std::lock_guard<std::mutex> lock(mu_);
  return vocabulary_;
}

void Engine::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (worker_.joinable()) worker_.join();
}

void Engine::loop() {
  pool_->pin_caller();
  for (;;) {
    std::vector<TokenEvent> events;
    std::vector<JobResult> results;
    JobRequest job;
    bool have_job = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !incoming_.empty() || !jobs_.empty() || !active_.empty(); });
      if (stopping_) {
        const Status closed(ErrorCode::kEngineClosed, "the engine was closed before the request finished");
        for (auto& r : incoming_) active_.push_back(std::make_unique<Sequence>(std::move(r), kv_pool_.get()));
        incoming_.clear();
        for (auto& s : active_) {
          TokenEvent ev;
          ev.id = s->request.id;
          ev.done = true;
          ev.reason = FinishReason::kError;
          ev.error = closed;
          events.push_back(std::move(ev));
        }
        active_.clear();
        for (auto& j : jobs_) results.push_back(JobResult{j.id, closed, {}});
        jobs_.clear();
        lock.unlock();
        if (sink_ && (!events.empty() || !results.empty())) sink_(std::move(events), std::move(results));
        return;
      }
      for (auto& r : incoming_) active_.push_back(std::make_unique<Sequence>(std::move(r), kv_pool_.get()));
      incoming_.clear();
      if (!jobs_.empty()) {
        job = std::move(jobs_.front());
        jobs_.pop_front();
        have_job = true;
      }
      // Cancellation is applied between steps: the request ends with what it has.
      for (auto it = active_.begin(); it != active_.end();) {
        if (cancelled_.erase((*it)->request.id)) {
          TokenEvent ev;
          ev.id = (*it)->request.id;
          ev.done = true;
          ev.reason = FinishReason::kCancelled;
          ev.prompt_tokens = static_cast<int32_t>((*it)->request.prompt.size());
          ev.completion_tokens = (*it)->generated;
          events.push_back(std::move(ev));
          it = active_.erase(it);
        } else {
          ++it;
        }
      }
      cancelled_.clear();  // ids of finished or unknown requests
    }
    if (have_job) results.push_back(run_job(job));
    if (!active_.empty()) step(&events);
    if (sink_ && (!events.empty() || !results.empty())) sink_(std::move(events), std::move(results));
  }
}

void Engine::step(std::vector<TokenEvent>* events) {
  model::Batch batch;
  std::vector<Sequence*> in_batch;
  auto fail = [&](Sequence* s, const Status& st) {
    TokenEvent ev;
    ev.id = s->request.id;
    ev.done = true;
    ev.reason = FinishReason::kError;
    ev.error = st;
    ev.prompt_tokens = static_cast<int32_t>(s->request.prompt.size());
    ev.completion_tokens = s->generated;
    events->push_back(std::move(ev));
    s->cache->clear();
  };

  for (auto& s : active_) {
    const int64_t start = s->cache->length();
    const int64_t count = s->prefilled ? 1 : static_cast<int64_t>(s->request.prompt.size());
    const Status st = s->cache->reserve(start + count);
    if (!st.is_ok()) {
      fail(s.get(), st);
      s->request.id = 0;  // marks it for removal below
      continue;
    }
    if (s->prefilled) {
      batch.add(s->history.back(), static_cast<int32_t>(start), s->cache.get(), true, s->request.adapter);
    } else {
      for (int64_t i = 0; i < count; ++i)
        batch.add(s->request.prompt[i], static_cast<int32_t>(i), s->cache.get(), i + 1 == count, s->request.adapter);
    }
    in_batch.push_back(s.get());
  }

  if (!in_batch.empty()) {
    model::StepOutput out;
    try {
      model_->forward(batch, &out, *pool_);
    } catch (const std::exception& ex) {  // out of memory, mostly: fail this step's requests, keep serving
      for (Sequence* s : in_batch) {
        fail(s, Status(ErrorCode::kInternal, std::string("forward step failed: ") + ex.what()));
        s->request.id = 0;
      }
      in_batch.clear();
    }
    const int64_t vocab = hparams().vocab_size;
    for (size_t i = 0; i < in_batch.size(); ++i) {
      Sequence* s = in_batch[i];
      s->cache->set_length(s->cache->length() + (s->prefilled ? 1 : static_cast<int64_t>(s->request.prompt.size())));
      s->prefilled = true;
      float* row = out.logits.data() + i * vocab;
      TokenEvent ev;
      ev.id = s->request.id;
      ev.prompt_tokens = static_cast<int32_t>(s->request.prompt.size());
      if (s->constraint) {
        const int64_t left = std::min<int64_t>(s->request.max_new_tokens - s->generated, max_context_ - s->cache->length());
        if (!s->constraint->apply(row, vocab, static_cast<int32_t>(left))) {
          // No token can continue: a complete value simply ends here.
          ev.done = true;
          ev.completion_tokens = s->generated;
          if (s->constraint->accepting()) ev.reason = FinishReason::kStop;
          else {
            ev.reason = FinishReason::kError;
            ev.error = Status(ErrorCode::kInternal, "no token of the vocabulary can continue the constrained output");
          }
          ev.constraint_phase = static_cast<int8_t>(s->constraint->phase());
          ev.constraint_accepting = s->constraint->accepting();
          s->request.id = 0;
          events->push_back(std::move(ev));
          continue;
        }
      }
      const int32_t token = s->sampler.sample(row, vocab, s->history);
      s->history.push_back(token);
      s->generated++;
      ev.tokens.push_back(token);
      ev.completion_tokens = s->generated;
      const auto& stops = s->request.stop_ids;
      const bool is_stop = std::find(stops.begin(), stops.end(), token) != stops.end();
      if (s->constraint) {
        if (!is_stop && !s->constraint->accept(token)) {
          ev.done = true;
          ev.reason = FinishReason::kError;
          ev.error = Status(ErrorCode::kInternal, "the sampled token " + std::to_string(token) + " breaks the constraint");
        }
        ev.constraint_phase = static_cast<int8_t>(s->constraint->phase());
        ev.constraint_accepting = s->constraint->accepting();
        ev.constrained_bytes = s->constraint->take_output();
      }
      const bool value_complete = s->constraint && s->constraint->phase() == grammar::Constraint::Phase::kComplete;
      if (ev.done) {
        // failed above
      } else if (is_stop || value_complete) {
        ev.done = true;
        ev.reason = FinishReason::kStop;
      } else if (s->generated >= s->request.max_new_tokens || s->cache->length() + 1 >= max_context_) {
        ev.done = true;
        ev.reason = FinishReason::kLength;
      }
      if (ev.done) s->request.id = 0;
      events->push_back(std::move(ev));
    }
  }
  active_.erase(std::remove_if(active_.begin(), active_.end(), [](const auto& s) { return s->request.id == 0; }),
                active_.end());
}

JobResult Engine::run_job(const JobRequest& job) {
  JobResult result;
  result.id = job.id;
  const auto& hp = hparams();
  // Adapter changes run here, on the engine thread, so no step ever sees a half-loaded adapter.
  if (job.kind == JobRequest::Kind::kLoadAdapter) {
    result.status = load_lora_adapter(*model_, job.adapter, job.modules);
    return result;
  }
  if (job.kind == JobRequest::Kind::kUnloadAdapter) {
    unload_lora_adapter(*model_, job.adapter);
    return result;
  }
  try {
    std::vector<float> pooled;
    for (const auto& ids : job.inputs) {
      kv::KvSequence cache(kv_pool_.get());
      const Status st = cache.reserve(static_cast<int64_t>(ids.size()));
      if (!st.is_ok()) {
        result.status = st;
        result.outputs.clear();
        return result;
      }
      model::Batch batch;
      const bool all_logits = job.kind != JobRequest::Kind::kEmbed;
      for (size_t i = 0; i < ids.size(); ++i) batch.add(ids[i], static_cast<int32_t>(i), &cache, all_logits, job.adapter);
      std::vector<float> hidden;
      model::Trace trace;
      model::StepOutput out;
      out.final_hidden = job.kind == JobRequest::Kind::kEmbed ? &hidden : nullptr;
      out.trace = job.kind == JobRequest::Kind::kTrace ? &trace : nullptr;
      model_->forward(batch, &out, *pool_);
      if (job.kind == JobRequest::Kind::kEmbed) {
        // Mean over positions, then L2 normalisation.
        const int64_t H = hp.hidden_size, T = static_cast<int64_t>(ids.size());
        std::vector<double> mean(H, 0.0);
        for (int64_t t = 0; t < T; ++t)
          for (int64_t j = 0; j < H; ++j) mean[j] += hidden[t * H + j];
        double norm = 0;
        for (double& m : mean) {
          m /= static_cast<double>(T);
          norm += m * m;
        }
        norm = std::sqrt(norm);
        for (double m : mean) pooled.push_back(static_cast<float>(norm > 0 ? m / norm : 0.0));
      } else {
        result.outputs.emplace_back("logits", std::move(out.logits));
        for (auto& t : trace.tensors) result.outputs.push_back(std::move(t));
      }
    }
    if (job.kind == JobRequest::Kind::kEmbed) result.outputs.emplace_back("embeddings", std::move(pooled));
  } catch (const std::exception& ex) {
    result.status = Status(ErrorCode::kInternal, std::string("job failed: ") + ex.what());
    result.outputs.clear();
  }
  return result;
}

}  // namespace wenxin::runtime
