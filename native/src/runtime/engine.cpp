#include "runtime/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>

#include "core/mapping_guard.h"
#include "kernels/kernels.h"
#include "runtime/engine_reports.h"
#include "runtime/grammar/constraint.h"
#include "runtime/kv_budget.h"

namespace wenxin::runtime {

Status Engine::create(const Ernie45Hparams& hp, const std::vector<std::string>& files, const EngineOptions& options,
                      std::unique_ptr<Engine>* out) {
  // Before a single weight is mapped: a forced kernel path that cannot run, then the options.
  if (std::string isa = kernels::isa_override_error(); !isa.empty()) return Status(ErrorCode::kUnsupportedIsa, isa);
  WENXIN_RETURN_IF_ERROR(options.validate(hp));
  auto e = std::unique_ptr<Engine>(new Engine());
  e->pool_ = std::make_unique<ThreadPool>(options.threads);
  WENXIN_RETURN_IF_ERROR(model::Ernie45Model::load(hp, files, options.weights, *e->pool_, &e->model_));
  e->max_context_ = options.context_for(hp);
  e->max_embedding_tokens_ = options.max_embedding_tokens;
  e->kv_pool_ = std::make_unique<kv::KvBlockPool>(kv_cache_shape(hp, options), kv_budget_tokens(hp, options),
                                                  options.prefix_caching);
  SchedulerOptions sched;
  sched.max_sequences = options.max_sequences;
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
  st.paused = static_cast<int64_t>(scheduler_->paused());
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
  st.background_steps = background_steps_;
  st.background_step_ms = background_step_ms_;
  st.background_rest_ms = background_rest_ms_;
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

void Engine::retire(std::unique_ptr<Sequence> s, FinishReason reason, const Status& why, EngineReport* report) {
  if (!s->embedding()) {
    report->events.push_back(
        final_event(s->request.id, reason, reason == FinishReason::kError ? why : Status::ok(), s.get()));
    return;
  }
  // One input cannot go on: the whole embedding request ends (its other inputs too).
  const uint64_t id = s->request.id;
  if (embedding_tasks_.erase(id) == 0) return;  // already ended
  scheduler_->remove_all(id);
  report->embeddings.push_back(EmbeddingResult{id, why, {}});
}

void Engine::end_all(const Status& why, EngineReport* report) {
  for (auto& seq : scheduler_->drain()) retire(std::move(seq), FinishReason::kError, why, report);
}

void Engine::admit(std::deque<GenerateRequest>* incoming, EngineReport* report) {
  for (auto& r : *incoming) {
    const uint64_t id = r.id;
    try {  // a constraint's tables are built here: a failure ends this request only
      if (r.grammar) ++constrained_requests_;
      scheduler_->enqueue(std::make_unique<Sequence>(std::move(r), kv_pool_.get()));
    } catch (...) {
      report->events.push_back(final_event(id, FinishReason::kError, internal_error("starting the request")));
    }
  }
  incoming->clear();
}

void Engine::loop() {
  pool_->pin_caller();
  for (;;) {
    EngineReport report;
    JobRequest job;
    bool have_job = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto news = [&] {
        return stopping_ || !incoming_.empty() || !incoming_embeddings_.empty() || !jobs_.empty() ||
               !cancelled_.empty() || !pause_changes_.empty();
      };
      // After a step of background work only, rest as long as it took (or until anything arrives):
      // see background_rest_ in engine.h.
      if (background_rest_ > std::chrono::steady_clock::duration::zero()) {
        const auto from = std::chrono::steady_clock::now();
        wake_.wait_until(lock, from + background_rest_, news);
        background_rest_ms_ +=
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - from).count();
        background_rest_ = std::chrono::steady_clock::duration::zero();
      }
      wake_.wait(lock, [&] { return news() || (!idle_ && scheduler_->running() + scheduler_->waiting() > 0); });
      idle_ = false;
      if (stopping_) {
        const Status closed(ErrorCode::kEngineClosed, "the engine was closed before the request finished");
        for (auto& r : incoming_) report.events.push_back(final_event(r.id, FinishReason::kError, closed));
        incoming_.clear();
        for (auto& r : incoming_embeddings_) report.embeddings.push_back(EmbeddingResult{r.id, closed, {}});
        incoming_embeddings_.clear();
        end_all(closed, &report);
        for (auto& j : jobs_) report.jobs.push_back(JobResult{j.id, closed, {}});
        jobs_.clear();
        lock.unlock();
        publish_stats();
        if (sink_ && !report.empty()) sink_(std::move(report));
        return;
      }
      admit(&incoming_, &report);
      admit_embeddings(&incoming_embeddings_, &report);
      if (!jobs_.empty()) {
        job = std::move(jobs_.front());
        jobs_.pop_front();
        have_job = true;
      }
      // Cancellation is applied between steps: the request ends with what it has and its blocks go back.
      for (uint64_t id : cancelled_) {
        std::vector<std::unique_ptr<Sequence>> seqs = scheduler_->remove_all(id);
        if (seqs.empty()) continue;  // finished or unknown
        retire(std::move(seqs.front()), FinishReason::kCancelled,
               Status(ErrorCode::kAborted, "the request was cancelled"), &report);
      }
      cancelled_.clear();
      for (const auto& [id, paused] : pause_changes_) scheduler_->set_paused(id, paused);
      pause_changes_.clear();
    }
    if (have_job) report.jobs.push_back(run_job(job));
    bool ran = true;
    background_only_ = false;
    try {
      ran = step(&report);
    } catch (...) {
      // Not attributable to one request (planning, say): the running requests end, the engine keeps serving.
      end_all(internal_error("an engine step"), &report);
    }
    if (!ran && !have_job) {
      std::lock_guard<std::mutex> lock(mu_);
      idle_ = true;
    }
    if (ran && background_only_ && !have_job) background_rest_ = last_step_;
    publish_stats();
    if (sink_ && !report.empty()) sink_(std::move(report));
  }
}

bool Engine::step(EngineReport* report) {
  std::vector<std::pair<std::unique_ptr<Sequence>, Status>> failed;
  const std::vector<StepWork> work = scheduler_->plan(&failed);
  for (auto& [seq, st] : failed) retire(std::move(seq), FinishReason::kError, st, report);
  if (work.empty()) return !failed.empty();

  const auto started = std::chrono::steady_clock::now();
  // Read before sampling: a sequence that ends there is removed, and its pointer in `work` dangles.
  const bool background_only =
      std::all_of(work.begin(), work.end(), [](const StepWork& w) { return w.sequence->background; });
  std::vector<Sequence*> sampled;  // the sequences whose last pending token is in this step, in logits order
  std::vector<int64_t> first_row(work.size());  // each work item's first row in the batch
  int64_t prompt_tokens = 0;
  std::vector<float> hidden;  // final hidden states, when embedding inputs need them
  model::StepOutput out;
  // Ends every request of this step with `st`.
  auto fail_step = [&](const Status& st) {
    for (const StepWork& w : work)
      if (std::unique_ptr<Sequence> seq = scheduler_->remove(w.sequence))
        retire(std::move(seq), FinishReason::kError, st, report);
    return true;
  };
  Status weights_intact;
  try {
    model::Batch batch;
    for (size_t k = 0; k < work.size(); ++k) {
      Sequence* s = work[k].sequence;
      const int64_t start = s->cache->length(), count = work[k].count;
      const bool completes = start + count == static_cast<int64_t>(s->tokens.size());
      const bool sample = completes && !s->embedding();
      first_row[k] = static_cast<int64_t>(batch.size());
      for (int64_t i = 0; i < count; ++i)
        batch.add(s->tokens[start + i], static_cast<int32_t>(start + i), s->cache.get(), sample && i + 1 == count,
                  s->request.adapter);
      if (sample) sampled.push_back(s);
      if (s->embedding()) out.final_hidden = &hidden;
      if (count > 1 || s->generated == 0) prompt_tokens += count;
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
  for (size_t k = 0; k < work.size(); ++k)
    if (work[k].sequence->embedding())
      pool_embedding(work[k], hidden.data() + first_row[k] * hparams().hidden_size, report);

  // Sequences sample independently (own sampler, seed, constraint): spread them over the pool, which
  // matters when many sample at temperature > 0 over a large vocabulary. A failure while sampling
  // (its constraint included) ends that sequence alone.
  const int64_t vocab = hparams().vocab_size;
  std::vector<TokenEvent> sampled_events(sampled.size());
  std::vector<uint8_t> ended(sampled.size(), 0);
  pool_->parallel_for(
      static_cast<int64_t>(sampled.size()),
      [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) {
          try {
            ended[i] = sample_next(sampled[i], out.logits.data() + i * vocab, &sampled_events[i]);
          } catch (...) {
            sampled_events[i] =
                final_event(sampled[i]->request.id, FinishReason::kError, internal_error("sampling"), sampled[i]);
            ended[i] = 1;
          }
        }
      },
      // A chunk per sequence, claimed in turn (balanced when the threads run at different speeds).
      1, static_cast<int>(sampled.size()));
  for (size_t i = 0; i < sampled.size(); ++i) {
    if (sampled[i]->constraint) {
      const grammar::Constraint::Cost c = sampled[i]->constraint->take_cost();
      constraint_cost_.tokens += c.tokens;
      constraint_cost_.mask_ns += c.mask_ns;
      constraint_cost_.advance_ns += c.advance_ns;
    }
    report->events.push_back(std::move(sampled_events[i]));
    if (ended[i]) scheduler_->remove(sampled[i]);  // its blocks go back (published ones stay cached)
  }
  last_step_ = std::chrono::steady_clock::now() - started;
  const double ms = std::chrono::duration<double, std::milli>(last_step_).count();
  meter_.record(ms, static_cast<int64_t>(sampled.size()), prompt_tokens);
  if (background_only) {
    background_only_ = true;
    ++background_steps_;
    background_step_ms_ += ms;
  }
  return true;
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
