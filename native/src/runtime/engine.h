// The engine behind wenxin/engine.h: one model, one KV cache pool, one worker thread that plans
// and runs every step (runtime/scheduler.h), samples, and reports events once per step.
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
  void cancel(uint64_t id) override;
  // A paused request keeps its place and cache but is not stepped (its consumer reads slowly).
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
  bool step(std::vector<TokenEvent>* events);
  // Samples the next token of a sequence whose tokens are all computed; true when it has ended.
  bool sample_next(Sequence* s, float* row, TokenEvent* ev);
  JobResult run_job(const JobRequest& job);
  Status run_job(const JobRequest& job, std::vector<std::pair<std::string, std::vector<float>>>* outputs);
  void end_all(const Status& why, std::vector<TokenEvent>* events);
  // Turns queued requests into sequences; one whose setup fails ends with an error event.
  void admit(std::deque<GenerateRequest>* incoming, std::vector<TokenEvent>* events);
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
  std::shared_ptr<const Vocabulary> vocabulary_;
  std::thread worker_;

  std::mutex stats_mu_;
  EngineStats stats_;
  StepMeter meter_;  // worker thread only
  // Constrained decoding cost so far (worker thread only).
  int64_t constrained_requests_ = 0;
  grammar::Constraint::Cost constraint_cost_;
};

}  // namespace wenxin::runtime
