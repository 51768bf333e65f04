// The engine behind wenxin/engine.h: one model, one KV cache pool, one worker thread that plans
// and runs every step (runtime/scheduler.h), samples, and reports events once per step.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/thread_pool.h"
#include "kv_cache/kv_cache.h"
#include "model/ernie4_5/model.h"
#include "runtime/scheduler.h"
#include "runtime/step_meter.h"
#include "train/trainer.h"
#include "wenxin/engine.h"

namespace wenxin::runtime {

class Engine final : public ::wenxin::Engine {
 public:
  static Status create(const Ernie45Hparams& hp, const std::vector<std::string>& files, const EngineOptions& options,
                       std::unique_ptr<Engine>* out);
  ~Engine() override;

  void start(EventSink sink) override;
  Status submit(GenerateRequest request) override;
  Status submit_embedding(EmbeddingRequest request) override;
  void cancel(uint64_t id) override;
  // A paused request (its consumer is not reading) leaves the running set and its KV blocks until
  // it is resumed (see Scheduler::set_paused).
  void set_paused(uint64_t id, bool paused) override;
  EngineStats stats() override;
  Status submit_job(JobRequest job) override;
  void shutdown() override;
  void set_vocabulary(std::shared_ptr<const Vocabulary> vocabulary) override;
  std::shared_ptr<const Vocabulary> vocabulary() override;
  const Ernie45Hparams& hparams() const override { return model_->hparams(); }
  int64_t max_context() const override { return max_context_; }
  Status create_trainer(TrainerOptions options, std::unique_ptr<::wenxin::LoraTrainer>* out) override;

 private:
  Engine() = default;
  Status check_tokens(const std::vector<int32_t>& ids, const char* what) const;
  void loop();
  // Runs one planned step; returns false when nothing could run.
  bool step(EngineReport* report);
  // Samples the next token of a sequence whose tokens are all computed; true when it has ended.
  bool sample_next(Sequence* s, float* row, TokenEvent* ev);
  JobResult run_job(const JobRequest& job);
  Status run_job(const JobRequest& job, std::vector<std::pair<std::string, std::vector<float>>>* outputs);
  void end_all(const Status& why, EngineReport* report);
  // Turns queued requests into sequences; one whose setup fails ends with an error event.
  void admit(std::deque<GenerateRequest>* incoming, EngineReport* report);
  // Reports the end of a sequence taken out of the scheduler: its request's last event, or for an
  // embedding input, its whole request's result (the other inputs are dropped).
  void retire(std::unique_ptr<Sequence> s, FinishReason reason, const Status& why, EngineReport* report);
  // engine_embeddings.cpp: one sequence per input; each step's hidden rows summed as they come.
  void admit_embeddings(std::deque<EmbeddingRequest>* incoming, EngineReport* report);
  void pool_embedding(const StepWork& w, const float* rows, EngineReport* report);
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
  std::deque<EmbeddingRequest> incoming_embeddings_;
  std::unordered_set<uint64_t> cancelled_;
  std::vector<std::pair<uint64_t, bool>> pause_changes_;
  bool idle_ = false;  // the last plan had nothing to run: sleep until something arrives
  std::shared_ptr<const Vocabulary> vocabulary_;
  std::thread worker_;

  std::mutex stats_mu_;
  EngineStats stats_;
  StepMeter meter_;  // worker thread only
  struct EmbeddingTask {
    int64_t inputs = 0, done = 0;
    std::vector<float> vectors;  // [inputs, hidden]
  };
  std::unordered_map<uint64_t, EmbeddingTask> embedding_tasks_;  // worker thread only
  int64_t max_embedding_tokens_ = 0;
  // Constrained decoding cost so far (worker thread only).
  int64_t constrained_requests_ = 0;
  grammar::Constraint::Cost constraint_cost_;
  // Background work (sequences once paused because their consumers fell behind, see scheduler.h)
  // runs in steps of its own when nothing else does, on every engine thread at the process's
  // priority. After such a step the engine rests as long as the step took, unless a request, a
  // cancellation, a pause or a job arrives meanwhile: background work alone takes at most half of
  // the engine's time, and the CPUs it leaves go to the event loop, which reads, tokenizes and
  // submits new requests (on a 2-core machine it otherwise waits for a CPU behind the engine's
  // threads). A new request is planned the moment it arrives, as before. (worker thread only)
  std::chrono::steady_clock::duration last_step_{};        // the last step's length
  bool background_only_ = false;                           // the last step computed background work only
  std::chrono::steady_clock::duration background_rest_{};  // the rest to take before the next step
  int64_t background_steps_ = 0;
  double background_step_ms_ = 0, background_rest_ms_ = 0;
};

}  // namespace wenxin::runtime
