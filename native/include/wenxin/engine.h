// The engine: one model, one KV cache pool, one worker thread that runs every step. Clients submit
// requests from any thread; results come back through the event sink, which the worker calls once
// per step with the events of every live request (never per token). Implemented by
// runtime/engine.cpp; this is all the addon knows of it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "wenxin/engine_options.h"
#include "wenxin/engine_stats.h"
#include "wenxin/grammar.h"
#include "wenxin/hparams.h"
#include "wenxin/requests.h"
#include "wenxin/status.h"
#include "wenxin/trainer.h"

namespace wenxin {

class Engine {
 public:
  using EventSink = std::function<void(EngineReport&&)>;

  // Validates the options, maps the weight files (safetensors shards or one .gguf) and binds them.
  static Status create(const Ernie45Hparams& hp, const std::vector<std::string>& files, const EngineOptions& options,
                       std::unique_ptr<Engine>* out);
  virtual ~Engine() = default;

  // Starts the worker; events go to `sink` (called on the worker thread).
  virtual void start(EventSink sink) = 0;
  // Checks a request and queues it; a bad request is refused here and nothing is queued.
  virtual Status submit(GenerateRequest request) = 0;
  // Checks an embedding request (each input against the context, all of them against
  // max_embedding_tokens) and queues it; its result comes back in a report's `embeddings`.
  virtual Status submit_embedding(EmbeddingRequest request) = 0;
  // Ends a generation or embedding request between steps; its blocks go back.
  virtual void cancel(uint64_t id) = 0;
  // A paused request (its consumer is not reading) is not stepped.
  virtual void set_paused(uint64_t id, bool paused) = 0;
  virtual EngineStats stats() = 0;
  virtual Status submit_job(JobRequest job) = 0;
  // Stops the worker; queued and running requests end with ENGINE_CLOSED.
  virtual void shutdown() = 0;

  // The token byte strings that constrained requests are matched against (set from JS once).
  virtual void set_vocabulary(std::shared_ptr<const Vocabulary> vocabulary) = 0;
  virtual std::shared_ptr<const Vocabulary> vocabulary() = 0;

  // A LoRA trainer over this engine's model; its work runs as JobRequest::kTask jobs (on this
  // engine's thread, between steps).
  virtual Status create_trainer(TrainerOptions options, std::unique_ptr<LoraTrainer>* out) = 0;

  virtual const Ernie45Hparams& hparams() const = 0;
  // The context per sequence, after clamping to the model's maximum.
  virtual int64_t max_context() const = 0;
};

}  // namespace wenxin
