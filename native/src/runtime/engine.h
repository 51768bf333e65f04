// The engine: one model, one KV cache pool, one worker thread that runs every step.
// Clients submit requests from any thread; results come back through the event sink, which
// the worker calls once per step with the events of every live request (never per token).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/thread_pool.h"
#include "kv_cache/kv_cache.h"
#include "model/ernie4_5/model.h"
#include "runtime/engine_stats.h"
#include "runtime/requests.h"
#include "runtime/scheduler.h"
#include "train/trainer.h"

namespace wenxin::runtime {

struct EngineOptions {
  int threads = 1;
  int64_t max_context = 4096;  // per sequence, clamped to the model's maximum
  // The KV cache budget over all sequences: bytes if set, else tokens if set, else max_sequences ×
  // max_context when max_sequences is set, else 4 × max_context tokens.
  int64_t kv_cache_bytes = 0;
  int64_t kv_cache_tokens = 0;
  int64_t max_sequences = 0;       // running at once (0: 128); the rest wait
  int64_t max_batch_tokens = 512;  // tokens per step: every decode token, then prompt chunks
  kv::KvPrecision kv_precision = kv::KvPrecision::kF32;
  bool prefix_caching = true;
  model::WeightFormat weights = model::WeightFormat::kFloat;  // matrices as stored, or quantized at load
};

class Engine {
 public:
  using EventSink = std::function<void(std::vector<TokenEvent>&&, std::vector<JobResult>&&)>;

  static Status create(const model::Ernie45Hparams& hp, const std::vector<std::string>& files,
                       const EngineOptions& options, std::unique_ptr<Engine>* out);
  ~Engine();

  // Starts the worker; events go to `sink` (called on the worker thread).
  void start(EventSink sink);

  // Checks a request and queues it; a bad request is refused here and nothing is queued.
  Status submit(GenerateRequest request);
  void cancel(uint64_t id);
  // A paused request keeps its place and cache but is not stepped (its consumer reads slowly).
  void set_paused(uint64_t id, bool paused);
  EngineStats stats();
  Status submit_job(JobRequest job);

  // Stops the worker; queued and running requests end with ENGINE_CLOSED.
  void shutdown();

  // The token byte strings that constrained requests are matched against (set from JS once).
  void set_vocabulary(std::shared_ptr<const grammar::Vocabulary> vocabulary);
  std::shared_ptr<const grammar::Vocabulary> vocabulary();

  // A LoRA trainer over this engine's model; run its work as kTask jobs (on this engine's thread).
  Status create_trainer(train::TrainerOptions options, std::unique_ptr<train::LoraTrainer>* out) const {
    return train::LoraTrainer::create(*model_, std::move(options), out);
  }

  const model::Ernie45Hparams& hparams() const { return model_->hparams(); }
  int64_t max_context() const { return max_context_; }

 private:
  Engine() = default;
  Status check_tokens(const std::vector<int32_t>& ids, const char* what) const;
  void loop();
  // Runs one planned step; returns false when nothing could run.
  bool step(std::vector<TokenEvent>* events);
  // Samples the next token of a sequence whose tokens are all computed; true when it has ended.
  bool sample_next(Sequence* s, float* row, TokenEvent* ev);
  JobResult run_job(const JobRequest& job);
  void end_all(const Status& why, std::vector<TokenEvent>* events);
  void publish_stats();

  std::unique_ptr<model::Ernie45Model> model_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<kv::KvBlockPool> kv_pool_;
  std::unique_ptr<Scheduler> scheduler_;  // worker thread only
  int64_t max_context_ = 0;
  EventSink sink_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<GenerateRequest> incoming_;
  std::deque<JobRequest> jobs_;
  std::unordered_set<uint64_t> cancelled_;
  std::vector<std::pair<uint64_t, bool>> pause_changes_;
  bool idle_ = false;  // the last plan had nothing to run: sleep until something arrives
  std::shared_ptr<const grammar::Vocabulary> vocabulary_;
  std::thread worker_;

  std::mutex stats_mu_;
  EngineStats stats_;
  StepMeter meter_;  // worker thread only
};

}  // namespace wenxin::runtime
