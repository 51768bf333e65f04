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
#include "runtime/requests.h"

namespace wenxin::runtime {

struct EngineOptions {
  int threads = 1;
  int64_t max_context = 4096;        // per sequence, clamped to the model's maximum
  int64_t kv_cache_tokens = 0;       // the pool's budget over all sequences; 0: 4 × max_context
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
  Status submit_job(JobRequest job);

  // Stops the worker; queued and running requests end with ENGINE_CLOSED.
  void shutdown();

  // The token byte strings that constrained requests are matched against (set from JS once).
  void set_vocabulary(std::shared_ptr<const grammar::Vocabulary> vocabulary);
  std::shared_ptr<const grammar::Vocabulary> vocabulary();

  const model::Ernie45Hparams& hparams() const { return model_->hparams(); }
  int64_t max_context() const { return max_context_; }

 private:
  struct Sequence;

  Engine() = default;
  Status check_tokens(const std::vector<int32_t>& ids, const char* what) const;
  void loop();
  void step(std::vector<TokenEvent>* events);
  JobResult run_job(const JobRequest& job);

  std::unique_ptr<model::Ernie45Model> model_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<kv::KvBlockPool> kv_pool_;
  int64_t max_context_ = 0;
  EventSink sink_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<GenerateRequest> incoming_;
  std::deque<JobRequest> jobs_;
  std::unordered_set<uint64_t> cancelled_;
  std::shared_ptr<const grammar::Vocabulary> vocabulary_;
  std::vector<std::unique_ptr<Sequence>> active_;  // worker thread only
  std::thread worker_;
};

}  // namespace wenxin::runtime
