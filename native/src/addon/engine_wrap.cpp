#include "addon/engine_wrap.h"

#include <chrono>
#include <functional>

#include "addon/convert.h"
#include "addon/grammar_bindings.h"
#include "addon/trainer_wrap.h"

namespace wenxin::addon {

namespace {

Napi::Float32Array to_float32_array(Napi::Env env, const std::vector<float>& data) {
  Napi::Float32Array arr = Napi::Float32Array::New(env, data.size());
  std::copy(data.begin(), data.end(), arr.Data());
  return arr;
}

// A request id from JS: an integer in [1, 2^53), shared by generation and embedding requests.
uint64_t request_id(const Napi::Value& v) {
  const double id = v.As<Napi::Number>().DoubleValue();
  if (!(id >= 1 && id <= 9007199254740991.0) || id != static_cast<double>(static_cast<uint64_t>(id)))
    throw to_js_error(v.Env(), Status(ErrorCode::kInvalidArgument, "request ids are integers from 1 to 2^53 - 1"));
  return static_cast<uint64_t>(id);
}

}  // namespace

Napi::FunctionReference* EngineWrap::constructor = nullptr;

struct EngineWrap::Payload {
  EngineReport report;
};

Napi::Function EngineWrap::define(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "NativeEngine",
                                  {
                                      InstanceMethod("submit", &EngineWrap::submit),
                                      InstanceMethod("embed", &EngineWrap::embed),
                                      InstanceMethod("cancel", &EngineWrap::cancel),
                                      InstanceMethod("setPaused", &EngineWrap::set_paused),
                                      InstanceMethod("stats", &EngineWrap::stats),
                                      InstanceMethod("runJob", &EngineWrap::run_job),
                                      InstanceMethod("close", &EngineWrap::close),
                                      InstanceMethod("setVocabulary", &EngineWrap::set_vocabulary),
                                      InstanceMethod("createTrainer", &EngineWrap::create_trainer),
                                  });
  constructor = new Napi::FunctionReference(Napi::Persistent(fn));
  return fn;
}

EngineWrap::EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {}

void EngineWrap::attach(Napi::Env env, std::unique_ptr<Engine> engine, Napi::Function on_events) {
  engine_ = std::move(engine);
  Ref();  // the engine's thread may call back until close(): keep this object alive until then
  tsfn_ = Napi::ThreadSafeFunction::New(env, on_events, "wenxin-engine-events", 0, 1, [this](Napi::Env) { Unref(); });
  tsfn_.Unref(env);
  Napi::ThreadSafeFunction tsfn = tsfn_;
  std::shared_ptr<Backlog> backlog = backlog_;
  // At the environment's teardown no report is delivered any more: nothing may wait for one.
  napi_add_env_cleanup_hook(
      env,
      [](void* arg) {
        std::unique_ptr<std::shared_ptr<Backlog>> b(static_cast<std::shared_ptr<Backlog>*>(arg));
        {
          std::lock_guard<std::mutex> lock((*b)->mu);
          (*b)->closing = true;
        }
        (*b)->drained.notify_all();
      },
      new std::shared_ptr<Backlog>(backlog));
  engine_->start([this, tsfn, backlog](EngineReport&& report) mutable {
    {
      // Backpressure from the event loop: wait while kMaxUndelivered reports are not handled yet
      // (a second at most: the engine's liveness never depends on the JS thread alone).
      std::unique_lock<std::mutex> lock(backlog->mu);
      backlog->drained.wait_for(lock, std::chrono::seconds(1),
                                [&] { return backlog->closing || backlog->undelivered < kMaxUndelivered; });
      ++backlog->undelivered;
    }
    auto* payload = new Payload{std::move(report)};
    const napi_status st =
        tsfn.NonBlockingCall(payload, [this](Napi::Env env, Napi::Function cb, Payload* p) { deliver(env, cb, p); });
    if (st != napi_ok) {  // the environment is shutting down
      delete payload;
      std::lock_guard<std::mutex> lock(backlog->mu);
      --backlog->undelivered;
    }
  });
}

void EngineWrap::track(Napi::Env env, int delta) {
  const int64_t before = inflight_;
  inflight_ += delta;
  if (closed_) return;  // released: the thread-safe function goes away once its queue drains
  if (before == 0 && inflight_ > 0) tsfn_.Ref(env);
  if (before > 0 && inflight_ == 0) tsfn_.Unref(env);
}

Engine* EngineWrap::live_engine(Napi::Env env) {
  if (closed_ || !engine_) throw to_js_error(env, Status(ErrorCode::kEngineClosed, "the engine is closed"));
  return engine_.get();
}

void EngineWrap::deliver(Napi::Env env, Napi::Function on_events, Payload* payload) {
  std::unique_ptr<Payload> p(payload);
  // Counted as handled once the JS callback has returned (or thrown), with what it ran inline.
  struct Handled {
    Backlog& b;
    ~Handled() {
      {
        std::lock_guard<std::mutex> lock(b.mu);
        --b.undelivered;
      }
      b.drained.notify_one();
    }
  } handled{*backlog_};
  if (env == nullptr) return;
  Napi::HandleScope scope(env);
  const std::vector<TokenEvent>& evs = p->report.events;
  Napi::Array events = Napi::Array::New(env, evs.size());
  int finished = 0;
  for (size_t i = 0; i < evs.size(); ++i) {
    const TokenEvent& ev = evs[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", Napi::Number::New(env, static_cast<double>(ev.id)));
    Napi::Int32Array tokens = Napi::Int32Array::New(env, ev.tokens.size());
    std::copy(ev.tokens.begin(), ev.tokens.end(), tokens.Data());
    o.Set("tokens", tokens);
    o.Set("done", Napi::Boolean::New(env, ev.done));
    o.Set("finishReason", Napi::String::New(env, finish_reason_name(ev.reason)));
    o.Set("promptTokens", Napi::Number::New(env, ev.prompt_tokens));
    o.Set("completionTokens", Napi::Number::New(env, ev.completion_tokens));
    if (!ev.error.is_ok()) o.Set("error", to_js_error(env, ev.error).Value());
    add_constraint_fields(env, o, ev);
    if (!ev.logprobs.empty()) o.Set("logprobs", logprobs_to_js(env, ev.logprobs));
    if (ev.done) ++finished;
    events.Set(static_cast<uint32_t>(i), o);
  }
  auto settle = [&](std::unordered_map<uint64_t, Napi::Promise::Deferred>& pending, uint64_t id, const Status& st,
                    const std::function<Napi::Value()>& value) {
    auto it = pending.find(id);
    if (it == pending.end()) return;
    Napi::Promise::Deferred deferred = it->second;
    pending.erase(it);
    ++finished;
    if (st.is_ok())
      deferred.Resolve(value());
    else
      deferred.Reject(to_js_error(env, st).Value());
  };
  for (const JobResult& r : p->report.jobs)
    settle(jobs_, r.id, r.status, [&] {
      Napi::Object out = Napi::Object::New(env);
      for (const auto& [name, data] : r.outputs) out.Set(name, to_float32_array(env, data));
      return out;
    });
  for (const EmbeddingResult& r : p->report.embeddings)
    settle(embeddings_, r.id, r.status, [&] { return to_float32_array(env, r.vectors); });
  if (!evs.empty()) on_events.Call({events});
  track(env, -finished);
}

Napi::Value EngineWrap::submit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine* engine = live_engine(env);
  if (info.Length() < 3 || !info[0].IsNumber() || !info[2].IsObject())
    throw to_js_error(
        env, Status(ErrorCode::kInvalidArgument, "submit(id, promptIds, params) was called with bad arguments"));
  GenerateRequest req;
  req.id = request_id(info[0]);
  req.prompt = to_token_ids(info[1], "promptIds");
  const Napi::Object params = info[2].As<Napi::Object>();
  req.sampling = to_sampling(params);
  const Napi::Value max_new = params.Get("maxNewTokens");
  if (max_new.IsNumber()) req.max_new_tokens = max_new.As<Napi::Number>().Int32Value();
  const Napi::Value adapter = params.Get("adapter");
  if (adapter.IsNumber()) req.adapter = adapter.As<Napi::Number>().Int32Value();
  const Napi::Value logprobs = params.Get("logprobs");
  if (logprobs.IsNumber()) req.logprobs = logprobs.As<Napi::Number>().Int32Value();
  const Napi::Value stops = params.Get("stopIds");
  if (!stops.IsUndefined()) req.stop_ids = to_token_ids(stops, "stopIds");
  read_constraint(params, engine, &req);
  const Status st = engine->submit(std::move(req));
  if (!st.is_ok()) throw to_js_error(env, st);
  track(env, +1);
  return env.Undefined();
}

Napi::Value EngineWrap::embed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine* engine = live_engine(env);
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsArray())
    throw to_js_error(env,
                      Status(ErrorCode::kInvalidArgument, "embed(id, inputs, params?) was called with bad arguments"));
  EmbeddingRequest req;
  req.id = request_id(info[0]);
  const Napi::Array inputs = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < inputs.Length(); ++i) req.inputs.push_back(to_token_ids(inputs.Get(i), "inputs[i]"));
  if (info.Length() > 2 && info[2].IsObject()) {
    const Napi::Value adapter = info[2].As<Napi::Object>().Get("adapter");
    if (adapter.IsNumber()) req.adapter = adapter.As<Napi::Number>().Int32Value();
  }
  if (embeddings_.count(req.id))
    throw to_js_error(env, Status(ErrorCode::kInvalidArgument, "request id " + std::to_string(req.id) + " is in use"));
  const uint64_t id = req.id;
  const Status st = engine->submit_embedding(std::move(req));
  if (!st.is_ok()) throw to_js_error(env, st);
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  embeddings_.emplace(id, deferred);
  track(env, +1);
  return deferred.Promise();
}

Napi::Value EngineWrap::cancel(const Napi::CallbackInfo& info) {
  if (!closed_ && engine_ && info.Length() > 0 && info[0].IsNumber())
    engine_->cancel(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
  return info.Env().Undefined();
}

Napi::Value EngineWrap::set_paused(const Napi::CallbackInfo& info) {
  if (!closed_ && engine_ && info.Length() > 1 && info[0].IsNumber() && info[1].IsBoolean())
    engine_->set_paused(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()),
                        info[1].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

Napi::Value EngineWrap::stats(const Napi::CallbackInfo& info) {
  return stats_to_js(info.Env(), live_engine(info.Env())->stats());
}

Napi::Value EngineWrap::run_job(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine* engine = live_engine(env);
  JobRequest job;
  const std::string kind = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (kind == "logits")
    job.kind = JobRequest::Kind::kLogits;
  else if (kind == "trace")
    job.kind = JobRequest::Kind::kTrace;
  else if (kind == "loadAdapter")
    job.kind = JobRequest::Kind::kLoadAdapter;
  else if (kind == "unloadAdapter")
    job.kind = JobRequest::Kind::kUnloadAdapter;
  else
    throw to_js_error(
        env, Status(ErrorCode::kInvalidArgument, "job kind must be logits, trace, loadAdapter or unloadAdapter"));
  if (info.Length() > 2 && info[2].IsObject()) {
    const Napi::Object extra = info[2].As<Napi::Object>();
    if (extra.Get("adapter").IsNumber()) job.adapter = extra.Get("adapter").As<Napi::Number>().Int32Value();
    if (extra.Get("modules").IsArray()) job.modules = to_lora_modules(extra.Get("modules"));
  }
  if (info.Length() < 2 || !info[1].IsArray())
    throw to_js_error(env, Status(ErrorCode::kInvalidArgument, "runJob(kind, inputs) needs an array of Int32Array"));
  const Napi::Array inputs = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < inputs.Length(); ++i) job.inputs.push_back(to_token_ids(inputs.Get(i), "inputs[i]"));
  const bool adapter_job = job.kind == JobRequest::Kind::kLoadAdapter || job.kind == JobRequest::Kind::kUnloadAdapter;
  if (!adapter_job && job.inputs.size() != 1)
    throw to_js_error(env, Status(ErrorCode::kInvalidArgument, kind + " takes exactly one input"));
  job.id = next_job_++;
  const uint64_t id = job.id;
  const Status st = engine->submit_job(std::move(job));
  if (!st.is_ok()) throw to_js_error(env, st);
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  jobs_.emplace(id, deferred);
  track(env, +1);
  return deferred.Promise();
}

Napi::Promise EngineWrap::submit_task(Napi::Env env, std::function<JobResult(ThreadPool&)> task) {
  Engine* engine = live_engine(env);
  JobRequest job;
  job.kind = JobRequest::Kind::kTask;
  job.task = std::move(task);
  job.id = next_job_++;
  const uint64_t id = job.id;
  const Status st = engine->submit_job(std::move(job));
  if (!st.is_ok()) throw to_js_error(env, st);
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  jobs_.emplace(id, deferred);
  track(env, +1);
  return deferred.Promise();
}

Napi::Value EngineWrap::create_trainer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine* engine = live_engine(env);
  if (info.Length() < 1 || !info[0].IsObject())
    throw to_js_error(env, Status(ErrorCode::kInvalidArgument, "createTrainer(options) needs an options object"));
  std::unique_ptr<LoraTrainer> trainer;
  const Status st = engine->create_trainer(to_trainer_options(info[0].As<Napi::Object>()), &trainer);
  if (!st.is_ok()) throw to_js_error(env, st);
  return TrainerWrap::wrap(env, this, info.This().As<Napi::Object>(), std::move(trainer));
}

Napi::Value EngineWrap::set_vocabulary(const Napi::CallbackInfo& info) {
  addon::set_vocabulary(info, live_engine(info.Env()));
  return info.Env().Undefined();
}

Napi::Value EngineWrap::close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!closed_ && engine_) {
    closed_ = true;
    {
      std::lock_guard<std::mutex> lock(backlog_->mu);
      backlog_->closing = true;  // the engine's thread must not wait for this thread while it joins it
    }
    backlog_->drained.notify_all();
    engine_->shutdown();  // the worker reports ENGINE_CLOSED for what was still queued
    tsfn_.Release();      // queued deliveries still run; the finalizer drops our self-reference
  }
  return env.Undefined();
}

namespace {

class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, Ernie45Hparams hp, std::vector<std::string> files, EngineOptions opts,
             Napi::Function on_events)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        hp_(std::move(hp)),
        files_(std::move(files)),
        opts_(opts),
        on_events_(Napi::Persistent(on_events)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override { status_ = Engine::create(hp_, files_, opts_, &engine_); }

  void OnOK() override {
    Napi::Env env = Env();
    if (!status_.is_ok()) {
      deferred_.Reject(to_js_error(env, status_).Value());
      return;
    }
    Napi::Object obj = EngineWrap::constructor->New({});
    EngineWrap::Unwrap(obj)->attach(env, std::move(engine_), on_events_.Value());
    deferred_.Resolve(obj);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Ernie45Hparams hp_;
  std::vector<std::string> files_;
  EngineOptions opts_;
  Napi::FunctionReference on_events_;
  Status status_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace

Napi::Value load_engine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsObject() || !info[2].IsObject() || !info[3].IsFunction())
    throw to_js_error(env, Status(ErrorCode::kInvalidArgument,
                                  "loadEngine(hparams, files, options, onEvents) was called with bad arguments"));
  auto* worker = new LoadWorker(env, to_hparams(info[0].As<Napi::Object>()), to_strings(info[1], "files"),
                                to_engine_options(info[2].As<Napi::Object>()), info[3].As<Napi::Function>());
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace wenxin::addon
