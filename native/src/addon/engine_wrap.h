// The JS class `NativeEngine`: a thin adapter over wenxin::Engine (wenxin/engine.h). Loading runs on a worker
// thread (a promise); token events and job results come back through one thread-safe function
// per engine, batched per engine step. See packages/engine/src/native/addon_types.ts.
#pragma once

#include <napi.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "wenxin/engine.h"

namespace wenxin::addon {

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::FunctionReference* constructor;

  explicit EngineWrap(const Napi::CallbackInfo& info);

  // Called on the JS thread once the load worker has built the engine.
  void attach(Napi::Env env, std::unique_ptr<Engine> engine, Napi::Function on_events);

  // Runs `task` on the engine's thread between steps; the promise takes the task's named outputs.
  Napi::Promise submit_task(Napi::Env env, std::function<JobResult(ThreadPool&)> task);

 private:
  struct Payload;

  Napi::Value submit(const Napi::CallbackInfo& info);
  Napi::Value embed(const Napi::CallbackInfo& info);
  Napi::Value cancel(const Napi::CallbackInfo& info);
  Napi::Value set_paused(const Napi::CallbackInfo& info);
  Napi::Value stats(const Napi::CallbackInfo& info);
  Napi::Value run_job(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  Napi::Value set_vocabulary(const Napi::CallbackInfo& info);
  Napi::Value create_trainer(const Napi::CallbackInfo& info);

  void deliver(Napi::Env env, Napi::Function on_events, Payload* payload);
  void track(Napi::Env env, int delta);  // keeps Node alive while work is in flight
  Engine* live_engine(Napi::Env env);

  // The engine's reports not yet handled by the JS thread. The engine's thread waits before
  // handing over another while kMaxUndelivered are (see attach()), so that it never runs ahead of
  // the event loop: with an unbounded queue, a busy event loop let reports pile up, and Node then
  // handled up to a thousand of them in one turn, holding every other request (and /health).
  struct Backlog {
    std::mutex mu;
    std::condition_variable drained;
    int undelivered = 0;
    bool closing = false;  // close() or the environment's teardown: nothing waits any more
  };
  static constexpr int kMaxUndelivered = 2;

  std::unique_ptr<Engine> engine_;
  std::shared_ptr<Backlog> backlog_ = std::make_shared<Backlog>();
  Napi::ThreadSafeFunction tsfn_;
  std::unordered_map<uint64_t, Napi::Promise::Deferred> jobs_;        // by job id
  std::unordered_map<uint64_t, Napi::Promise::Deferred> embeddings_;  // by request id
  uint64_t next_job_ = 1;
  int64_t inflight_ = 0;
  bool closed_ = false;
};

// loadEngine(hparams, files, options, onEvents): Promise<NativeEngine>
Napi::Value load_engine(const Napi::CallbackInfo& info);

}  // namespace wenxin::addon
