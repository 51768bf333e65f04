#include "runtime/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>

#include "core/fault_injection.h"
#include "core/mapping_guard.h"
#include "runtime/grammar/constraint.h"
#include "runtime/kv_budget.h"
#include "runtime/lora/lora_adapter.h"
#include "runtime/sampler/token_logprobs.h"

namespace wenxin::runtime {

Status Engine::create(const Ernie45Hparams& hp, const std::vector<std::string>& files, const EngineOptions& options,
                      std::unique_ptr<Engine>* out) {
  WENXIN_RETURN_IF_ERROR(options.validate(hp));  // before a single weight is mapped
  auto e = std::unique_ptr<Engine>(new Engine());
  e->pool_ = std::make_unique<ThreadPool>(options.threads);
  WENXIN_RETURN_IF_ERROR(model::Ernie45Model::load(hp, files, options.weights, *e->pool_, &e->model_));
  e->max_context_ = options.context_for(hp);
  e->kv_pool_ = std::make_unique<kv::KvBlockPool>(kv_cache_shape(hp, options), kv_budget_tokens(hp, options),
                                                  options.prefix_caching);
  SchedulerOptions sched;
  sched.max_sequences = options.running_limit();
  sched.max_batch_tokens = options.max_batch_tokens;
  e->scheduler_ = std::make_unique<Scheduler>(sched, e->kv_pool_.get());
  e->publish_stats();
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
                                                     " at index " + std::to_string(i) +
                                                     " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
  return Status::ok();
}

Status Engine::submit(GenerateRequest request) {
  WENXIN_RETURN_IF_ERROR(check_tokens(request.prompt, "the prompt"));
  if (static_cast<int64_t>(request.prompt.size()) >= max_context_)
    return Status(ErrorCode::kContextOverflow, "the prompt has " + std::to_string(request.prompt.size()) +
                                                   " tokens and leaves no room to generate in a context of " +
                                                   std::to_string(max_context_));
  if (request.max_new_tokens < 1)
    return Status(ErrorCode::kInvalidArgument,
                  "maxNewTokens must be >= 1, got " + std::to_string(request.max_new_tokens));
  const int64_t longest = static_cast<int64_t>(request.prompt.size()) + request.max_new_tokens;
  if (longest > max_context_)
    return Status(ErrorCode::kContextOverflow,
                  "the prompt has " + std::to_string(request.prompt.size()) + " tokens; with maxNewTokens " +
                      std::to_string(request.max_new_tokens) + " it could reach " + std::to_string(longest) +
                      " tokens, more than the context of " + std::to_string(max_context_));
  if (longest > kv_pool_->capacity_tokens())
    return Status(ErrorCode::kKvCacheFull, "the request could need " + std::to_string(longest) +
                                               " tokens of KV cache, more than the whole budget of " +
                                               std::to_string(kv_pool_->capacity_tokens()) + " tokens");
  if (request.logprobs > 20)
    return Status(ErrorCode::kInvalidArgument,
                  "logprobs asks for " + std::to_string(request.logprobs) + " alternatives; at most 20 are returned");
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

void Engine::set_paused(uint64_t id, bool paused) {
  std::lock_guard<std::mutex> lock(mu_);
  pause_changes_.emplace_back(id, paused);
  wake_.notify_one();
}

EngineStats Engine::stats() {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

void Engine::publish_stats() {
  EngineStats st;
  st.waiting = static_cast<int64_t>(scheduler_->waiting());
  st.running = static_cast<int64_t>(scheduler_->running());
  st.kv_blocks_total = kv_pool_->total_blocks();
  st.kv_blocks_used = kv_pool_->used_blocks();
  st.kv_blocks_cached = kv_pool_->cached_blocks();
  st.kv_block_tokens = kv_pool_->shape().block_tokens;
  st.kv_bytes_per_token = kv_pool_->shape().bytes_per_token();
  st.kv_precision = kv_pool_->shape().precision;
  st.prefix_cache_hit_tokens = scheduler_->prefix_hit_tokens();
  st.preemptions = scheduler_->preemptions();
  meter_.fill(&st);
  st.constrained_requests = constrained_requests_;
  st.constrained_tokens = constraint_cost_.tokens;
  st.constraint_mask_ms = constraint_cost_.mask_ns / 1e6;
  st.constraint_advance_ms = constraint_cost_.advance_ns / 1e6;
  std::lock_guard<std::mutex> lock(stats_mu_);
  stats_ = st;
}

Status Engine::submit_job(JobRequest job) {
  const bool adapter_job = job.kind == JobRequest::Kind::kLoadAdapter || job.kind == JobRequest::Kind::kUnloadAdapter;
  if (job.kind == JobRequest::Kind::kTask && !job.task)
    return Status(ErrorCode::kInvalidArgument, "a task job needs a task");
  if (job.inputs.empty() && !adapter_job && job.kind != JobRequest::Kind::kTask)
    return Status(ErrorCode::kInvalidArgument, "no inputs were given");
  for (const auto& in : job.inputs) WENXIN_RETURN_IF_ERROR(check_tokens(in, "the input"));
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return Status(ErrorCode::kEngineClosed, "the engine is closed");
  jobs_.push_back(std::move(job));
  wake_.notify_one();
  return Status::ok();
}

Status Engine::create_trainer(TrainerOptions options, std::unique_ptr<::wenxin::LoraTrainer>* out) {
  std::unique_ptr<train::LoraTrainer> trainer;
  WENXIN_RETURN_IF_ERROR(train::LoraTrainer::create(*model_, std::move(options), &trainer));
  *out = std::move(trainer);
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

namespace {

// The last event of a request that ends without a new token.
TokenEvent final_event(uint64_t id, FinishReason reason, Status error = Status::ok(), const Sequence* s = nullptr) {
  TokenEvent ev;
  ev.id = id;
  ev.done = true;
  ev.reason = reason;
  ev.error = std::move(error);
  if (s) {
    ev.prompt_tokens = s->prompt_tokens();
    ev.completion_tokens = s->generated;
  }
  return ev;
}

// What an exception escaping a stage of the engine becomes: an INTERNAL status naming the stage.
Status internal_error(const char* stage) {
  try {
    throw;
  } catch (const std::exception& ex) {
    return Status(ErrorCode::kInternal, std::string(stage) + " failed: " + ex.what());
  } catch (...) {
    return Status(ErrorCode::kInternal, std::string(stage) + " failed");
  }
}

}  // namespace

void Engine::end_all(const Status& why, std::vector<TokenEvent>* events) {
  for (auto& seq : scheduler_->drain())
    events->push_back(final_event(seq->request.id, FinishReason::kError, why, seq.get()));
}

void Engine::admit(std::deque<GenerateRequest>* incoming, std::vector<TokenEvent>* events) {
  for (auto& r : *incoming) {
    const uint64_t id = r.id;
    try {  // a constraint's tables are built here: a failure ends this request only
      if (r.grammar) ++constrained_requests_;
      scheduler_->enqueue(std::make_unique<Sequence>(std::move(r), kv_pool_.get()));
    } catch (...) {
      events->push_back(final_event(id, FinishReason::kError, internal_error("starting the request")));
    }
  }
  incoming->clear();
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
      wake_.wait(lock, [&] {
        return stopping_ || !incoming_.empty() || !jobs_.empty() || !cancelled_.empty() || !pause_changes_.empty() ||
               (!idle_ && scheduler_->running() + scheduler_->waiting() > 0);
      });
      idle_ = false;
      if (stopping_) {
        const Status closed(ErrorCode::kEngineClosed, "the engine was closed before the request finished");
        for (auto& r : incoming_) events.push_back(final_event(r.id, FinishReason::kError, closed));
        incoming_.clear();
        end_all(closed, &events);
        for (auto& j : jobs_) results.push_back(JobResult{j.id, closed, {}});
        jobs_.clear();
        lock.unlock();
        publish_stats();
        if (sink_ && (!events.empty() || !results.empty())) sink_(std::move(events), std::move(results));
        return;
      }
      admit(&incoming_, &events);
      if (!jobs_.empty()) {
        job = std::move(jobs_.front());
        jobs_.pop_front();
        have_job = true;
      }
      // Cancellation is applied between steps: the request ends with what it has and its blocks go back.
      for (uint64_t id : cancelled_) {
        std::unique_ptr<Sequence> seq = scheduler_->remove(id);
        if (!seq) continue;  // finished or unknown
        events.push_back(final_event(id, FinishReason::kCancelled, Status::ok(), seq.get()));
      }
      cancelled_.clear();
      for (const auto& [id, paused] : pause_changes_)
        if (Sequence* seq = scheduler_->find(id)) seq->paused = paused;
      pause_changes_.clear();
    }
    if (have_job) results.push_back(run_job(job));
    bool ran = true;
    try {
      ran = step(&events);
    } catch (...) {
      // Not attributable to one request (planning, say): the running requests end, the engine keeps serving.
      end_all(internal_error("an engine step"), &events);
    }
    if (!ran && !have_job) {
      std::lock_guard<std::mutex> lock(mu_);
      idle_ = true;
    }
    publish_stats();
    if (sink_ && (!events.empty() || !results.empty())) sink_(std::move(events), std::move(results));
  }
}

bool Engine::step(std::vector<TokenEvent>* events) {
  std::vector<std::pair<std::unique_ptr<Sequence>, Status>> failed;
  const std::vector<StepWork> work = scheduler_->plan(&failed);
  for (auto& [seq, st] : failed) events->push_back(final_event(seq->request.id, FinishReason::kError, st, seq.get()));
  if (work.empty()) return !failed.empty();

  const auto started = std::chrono::steady_clock::now();
  std::vector<Sequence*> sampled;  // the sequences whose last pending token is in this step, in logits order
  int64_t prompt_tokens = 0;
  model::StepOutput out;
  // Ends every request of this step with `st`.
  auto fail_step = [&](const Status& st) {
    for (const StepWork& w : work) {
      std::unique_ptr<Sequence> seq = scheduler_->remove(w.sequence->request.id);
      events->push_back(final_event(seq->request.id, FinishReason::kError, st, seq.get()));
    }
    return true;
  };
  Status weights_intact;
  try {
    model::Batch batch;
    for (const StepWork& w : work) {
      Sequence* s = w.sequence;
      const int64_t start = s->cache->length();
      const bool completes = start + w.count == static_cast<int64_t>(s->tokens.size());
      for (int64_t i = 0; i < w.count; ++i) {
        const bool last = completes && i + 1 == w.count;
        batch.add(s->tokens[start + i], static_cast<int32_t>(start + i), s->cache.get(), last, s->request.adapter);
      }
      if (completes) sampled.push_back(s);
      if (w.count > 1 || s->generated == 0) prompt_tokens += w.count;
    }
    model_->forward(batch, &out, *pool_);
    // A weight file truncated under its mapping read as zeros (core/mapping_guard.h): the step's
    // results are discarded before anything is committed.
    if (mapping_guard::fault_count() != 0) weights_intact = model_->check_files();
    if (weights_intact.is_ok())
      for (const StepWork& w : work)
        w.sequence->cache->commit(w.sequence->tokens.data(), w.sequence->cache->length() + w.count,
                                  w.sequence->request.adapter);
  } catch (...) {  // out of memory, mostly: this step's requests end, the engine keeps serving
    return fail_step(internal_error("the forward step"));
  }
  if (!weights_intact.is_ok()) return fail_step(weights_intact);

  // Sequences sample independently (own sampler, seed, constraint): spread them over the pool, which
  // matters when many sample at temperature > 0 over a large vocabulary. A failure while sampling
  // (its constraint included) ends that sequence alone.
  const int64_t vocab = hparams().vocab_size;
  std::vector<TokenEvent> sampled_events(sampled.size());
  std::vector<uint8_t> ended(sampled.size(), 0);
  pool_->parallel_for(static_cast<int64_t>(sampled.size()), [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      try {
        ended[i] = sample_next(sampled[i], out.logits.data() + i * vocab, &sampled_events[i]);
      } catch (...) {
        sampled_events[i] =
            final_event(sampled[i]->request.id, FinishReason::kError, internal_error("sampling"), sampled[i]);
        ended[i] = 1;
      }
    }
  });
  for (size_t i = 0; i < sampled.size(); ++i) {
    if (sampled[i]->constraint) {
      const grammar::Constraint::Cost c = sampled[i]->constraint->take_cost();
      constraint_cost_.tokens += c.tokens;
      constraint_cost_.mask_ns += c.mask_ns;
      constraint_cost_.advance_ns += c.advance_ns;
    }
    const uint64_t id = sampled_events[i].id;
    events->push_back(std::move(sampled_events[i]));
    if (ended[i]) scheduler_->remove(id);  // its blocks go back (published ones stay cached)
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  meter_.record(ms, static_cast<int64_t>(sampled.size()), prompt_tokens);
  return true;
}

bool Engine::sample_next(Sequence* s, float* row, TokenEvent* ev) {
  const int64_t vocab = hparams().vocab_size;
  ev->id = s->request.id;
  ev->prompt_tokens = s->prompt_tokens();
  testing::fault_point(testing::FaultSite::kSampling, static_cast<int64_t>(s->request.id));
  if (!sanitize_logits(row, vocab)) {  // NaN or -inf everywhere: nothing to sample, nothing to report
    ev->done = true;
    ev->completion_tokens = s->generated;
    ev->reason = FinishReason::kError;
    ev->error = Status(ErrorCode::kInternal, "the model's logits hold no finite value (all NaN or -inf)");
    return true;
  }
  thread_local std::vector<float> raw;
  if (s->request.logprobs >= 0) raw.assign(row, row + vocab);  // before constraints and processors change it
  if (s->constraint) {
    const int64_t left = std::min<int64_t>(s->request.max_new_tokens - s->generated,
                                           max_context_ - static_cast<int64_t>(s->tokens.size()));
    testing::fault_point(testing::FaultSite::kConstraint, static_cast<int64_t>(s->request.id));
    if (!s->constraint->apply(row, vocab, static_cast<int32_t>(left))) {
      // No token can continue: a complete value simply ends here.
      ev->done = true;
      ev->completion_tokens = s->generated;
      if (s->constraint->accepting()) {
        ev->reason = FinishReason::kStop;
      } else if (s->constraint->overflowed()) {
        ev->reason = FinishReason::kError;
        ev->error =
            Status(ErrorCode::kInvalidArgument,
                   "the grammar is too ambiguous to match: one output byte needed more than " +
                       std::to_string(grammar::Automaton::kMaxStacks) + " parse stacks; make its rules less ambiguous");
      } else {
        ev->reason = FinishReason::kError;
        ev->error = Status(ErrorCode::kInternal, "no token of the vocabulary can continue the constrained output");
      }
      ev->constraint_phase = static_cast<int8_t>(s->constraint->phase());
      ev->constraint_accepting = s->constraint->accepting();
      return true;
    }
  }
  const int32_t token = s->sampler.sample(row, vocab, s->tokens);
  if (s->request.logprobs >= 0) ev->logprobs.push_back(token_logprob(raw.data(), vocab, token, s->request.logprobs));
  s->tokens.push_back(token);
  s->generated++;
  ev->tokens.push_back(token);
  ev->completion_tokens = s->generated;
  const auto& stops = s->request.stop_ids;
  const bool is_stop = std::find(stops.begin(), stops.end(), token) != stops.end();
  if (s->constraint) {
    if (!is_stop && !s->constraint->accept(token)) {
      ev->done = true;
      ev->reason = FinishReason::kError;
      ev->error = Status(ErrorCode::kInternal, "the sampled token " + std::to_string(token) + " breaks the constraint");
    }
    ev->constraint_phase = static_cast<int8_t>(s->constraint->phase());
    ev->constraint_accepting = s->constraint->accepting();
    ev->constrained_bytes = s->constraint->take_output();
  }
  const bool value_complete = s->constraint && s->constraint->phase() == grammar::Constraint::Phase::kComplete;
  if (ev->done) return true;  // failed above
  if (is_stop || value_complete) {
    ev->done = true;
    ev->reason = FinishReason::kStop;
  } else if (s->generated >= s->request.max_new_tokens || static_cast<int64_t>(s->tokens.size()) >= max_context_) {
    ev->done = true;
    ev->reason = FinishReason::kLength;
  }
  return ev->done;
}

JobResult Engine::run_job(const JobRequest& job) {
  JobResult result;
  result.id = job.id;
  try {
    if (job.kind == JobRequest::Kind::kTask)
      result = job.task(*pool_);  // a training step: its own status and outputs
    else
      result.status = run_job(job, &result.outputs);
  } catch (...) {  // this job fails; the engine and the other requests go on
    result = JobResult{};
    result.status = internal_error(job.kind == JobRequest::Kind::kLoadAdapter ? "loading the adapter"
                                   : job.kind == JobRequest::Kind::kTask      ? "the task"
                                                                              : "the job");
  }
  result.id = job.id;
  // Results read from a weight file truncated under its mapping are discarded (core/mapping_guard.h).
  if (result.status.is_ok() && mapping_guard::fault_count() != 0) result.status = model_->check_files();
  if (!result.status.is_ok()) result.outputs.clear();
  return result;
}

Status Engine::run_job(const JobRequest& job, std::vector<std::pair<std::string, std::vector<float>>>* outputs) {
  // Adapter changes run here, on the engine thread, so no step ever sees a half-loaded adapter.
  // The adapter's cached prefixes were computed with its old weights (or none): they go.
  if (job.kind == JobRequest::Kind::kLoadAdapter) {
    testing::fault_point(testing::FaultSite::kAdapterLoad, job.adapter);
    WENXIN_RETURN_IF_ERROR(load_lora_adapter(*model_, job.adapter, job.modules));
    kv_pool_->forget_adapter(job.adapter);
    return Status::ok();
  }
  if (job.kind == JobRequest::Kind::kUnloadAdapter) {
    unload_lora_adapter(*model_, job.adapter);
    kv_pool_->forget_adapter(job.adapter);
    return Status::ok();
  }
  const int64_t H = hparams().hidden_size;
  std::vector<float> pooled;
  for (const auto& ids : job.inputs) {
    kv::KvSequence cache(kv_pool_.get());
    WENXIN_RETURN_IF_ERROR(cache.reserve(static_cast<int64_t>(ids.size())));
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
      const int64_t T = static_cast<int64_t>(ids.size());
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
      outputs->emplace_back("logits", std::move(out.logits));
      for (auto& t : trace.tensors) outputs->push_back(std::move(t));
    }
  }
  if (job.kind == JobRequest::Kind::kEmbed) outputs->emplace_back("embeddings", std::move(pooled));
  return Status::ok();
}

}  // namespace wenxin::runtime

namespace wenxin {

Status Engine::create(const Ernie45Hparams& hp, const std::vector<std::string>& files, const EngineOptions& options,
                      std::unique_ptr<Engine>* out) {
  std::unique_ptr<runtime::Engine> engine;
  WENXIN_RETURN_IF_ERROR(runtime::Engine::create(hp, files, options, &engine));
  *out = std::move(engine);
  return Status::ok();
}

}  // namespace wenxin
