#include "addon/trainer_wrap.h"

#include <cstring>
#include <string>

#include "addon/convert.h"

namespace wenxin::addon {

Napi::FunctionReference* TrainerWrap::constructor = nullptr;

namespace {

[[noreturn]] void invalid(Napi::Env env, const std::string& msg) {
  throw to_js_error(env, Status(ErrorCode::kInvalidArgument, msg));
}

std::vector<float> to_floats(const Napi::Value& v, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    invalid(v.Env(), what + " must be a Float32Array");
  const Napi::Float32Array a = v.As<Napi::Float32Array>();
  return std::vector<float>(a.Data(), a.Data() + a.ElementLength());
}

double number_or(const Napi::Object& o, const char* key, double fallback) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) invalid(o.Env(), std::string("'") + key + "' must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// (tokens: Int32Array, labels: Int32Array, lengths: Int32Array) starting at info[first].
TrainBatch to_batch(const Napi::CallbackInfo& info, size_t first) {
  if (info.Length() < first + 3) invalid(info.Env(), "a batch is (tokens, labels, lengths), each an Int32Array");
  TrainBatch b;
  b.tokens = to_token_ids(info[first], "tokens");
  b.labels = to_token_ids(info[first + 1], "labels");
  for (int32_t len : to_token_ids(info[first + 2], "lengths")) b.lengths.push_back(len);
  return b;
}

JobResult loss_result(const BatchLoss& loss) {
  JobResult r;
  r.outputs.emplace_back("loss_sum", std::vector<float>{static_cast<float>(loss.loss_sum)});
  r.outputs.emplace_back("labels", std::vector<float>{static_cast<float>(loss.labels)});
  r.outputs.emplace_back("seq_loss", std::vector<float>(loss.seq_loss.begin(), loss.seq_loss.end()));
  r.outputs.emplace_back("seq_labels", std::vector<float>(loss.seq_labels.begin(), loss.seq_labels.end()));
  return r;
}

// "params" | "grads" | "exp_avg" | "exp_avg_sq", as the JS side names a kind of trainer tensor.
bool tensors_kind(const std::string& name, TrainerTensors* out) {
  static const std::pair<const char*, TrainerTensors> kKinds[] = {{"params", TrainerTensors::kParams},
                                                                  {"grads", TrainerTensors::kGrads},
                                                                  {"exp_avg", TrainerTensors::kExpAvg},
                                                                  {"exp_avg_sq", TrainerTensors::kExpAvgSq}};
  for (const auto& [n, k] : kKinds)
    if (name == n) {
      *out = k;
      return true;
    }
  return false;
}

}  // namespace

TrainerOptions to_trainer_options(const Napi::Object& o) {
  Napi::Env env = o.Env();
  TrainerOptions opts;
  const Napi::Value params = o.Get("params");
  if (!params.IsArray()) invalid(env, "'params' must be an array");
  const Napi::Array list = params.As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    if (!list.Get(i).IsObject()) invalid(env, "params[" + std::to_string(i) + "] must be an object");
    const Napi::Object p = list.Get(i).As<Napi::Object>();
    LoraSpec s;
    if (!p.Get("name").IsString()) invalid(env, "params[" + std::to_string(i) + "].name must be a string");
    s.name = p.Get("name").As<Napi::String>().Utf8Value();
    s.rank = static_cast<int64_t>(number_or(p, "rank", 0));
    s.scaling = static_cast<float>(number_or(p, "scaling", 1));
    s.dropout = static_cast<float>(number_or(p, "dropout", 0));
    s.a = to_floats(p.Get("a"), s.name + ".a");
    s.b = to_floats(p.Get("b"), s.name + ".b");
    opts.params.push_back(std::move(s));
  }
  const Napi::Value ckpt = o.Get("checkpointing");
  if (ckpt.IsBoolean()) opts.checkpointing = ckpt.As<Napi::Boolean>().Value();
  opts.activation_budget_bytes = static_cast<int64_t>(number_or(o, "activationBudgetBytes", 0));
  const Napi::Value compute = o.Get("computeBf16");
  if (compute.IsBoolean()) opts.compute_bf16 = compute.As<Napi::Boolean>().Value();
  return opts;
}

Napi::Function TrainerWrap::define(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "NativeTrainer",
                                  {
                                      InstanceMethod("accumulate", &TrainerWrap::accumulate),
                                      InstanceMethod("evaluate", &TrainerWrap::evaluate),
                                      InstanceMethod("apply", &TrainerWrap::apply),
                                      InstanceMethod("zeroGrad", &TrainerWrap::zero_grad),
                                      InstanceMethod("state", &TrainerWrap::state),
                                      InstanceMethod("setState", &TrainerWrap::set_state),
                                  });
  constructor = new Napi::FunctionReference(Napi::Persistent(fn));
  return fn;
}

TrainerWrap::TrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerWrap>(info) {}

Napi::Object TrainerWrap::wrap(Napi::Env env, EngineWrap* engine, Napi::Object engine_object,
                               std::unique_ptr<LoraTrainer> trainer) {
  Napi::Object obj = constructor->New({});
  TrainerWrap* self = Unwrap(obj);
  self->engine_ = engine;
  self->engine_ref_ = Napi::Persistent(engine_object);
  self->trainer_ = std::move(trainer);
  return obj;
}

// accumulate(tokens, labels, lengths, scale, seed): forward + backward, gradients added.
Napi::Value TrainerWrap::accumulate(const Napi::CallbackInfo& info) {
  TrainBatch batch = to_batch(info, 0);
  if (info.Length() < 5 || !info[3].IsNumber() || !info[4].IsNumber())
    invalid(info.Env(), "accumulate(tokens, labels, lengths, scale, seed)");
  const float scale = info[3].As<Napi::Number>().FloatValue();
  const auto seed = static_cast<uint64_t>(info[4].As<Napi::Number>().Int64Value());
  return engine_->submit_task(info.Env(), [t = trainer_, batch = std::move(batch), scale, seed](ThreadPool& pool) {
    BatchLoss loss;
    const Status st = t->accumulate(batch, scale, seed, &loss, pool);
    JobResult r = st.is_ok() ? loss_result(loss) : JobResult{};
    r.status = st;
    return r;
  });
}

// evaluate(tokens, labels, lengths): the loss alone.
Napi::Value TrainerWrap::evaluate(const Napi::CallbackInfo& info) {
  TrainBatch batch = to_batch(info, 0);
  return engine_->submit_task(info.Env(), [t = trainer_, batch = std::move(batch)](ThreadPool& pool) {
    BatchLoss loss;
    const Status st = t->evaluate(batch, &loss, pool);
    JobResult r = st.is_ok() ? loss_result(loss) : JobResult{};
    r.status = st;
    return r;
  });
}

// apply({ lr, beta1, beta2, eps, weightDecay, maxGradNorm }): clip + AdamW; { grad_norm, step }.
Napi::Value TrainerWrap::apply(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject()) invalid(info.Env(), "apply(options) needs an options object");
  const Napi::Object o = info[0].As<Napi::Object>();
  AdamWOptions opt;
  opt.lr = number_or(o, "lr", opt.lr);
  opt.beta1 = number_or(o, "beta1", opt.beta1);
  opt.beta2 = number_or(o, "beta2", opt.beta2);
  opt.eps = number_or(o, "eps", opt.eps);
  opt.weight_decay = number_or(o, "weightDecay", opt.weight_decay);
  opt.max_grad_norm = number_or(o, "maxGradNorm", opt.max_grad_norm);
  return engine_->submit_task(info.Env(), [t = trainer_, opt](ThreadPool&) {
    JobResult r;
    const double norm = t->apply(opt);
    r.outputs.emplace_back("grad_norm", std::vector<float>{static_cast<float>(norm)});
    r.outputs.emplace_back("step", std::vector<float>{static_cast<float>(t->step())});
    return r;
  });
}

Napi::Value TrainerWrap::zero_grad(const Napi::CallbackInfo& info) {
  return engine_->submit_task(info.Env(), [t = trainer_](ThreadPool&) {
    t->zero_grad();
    return JobResult{};
  });
}

// state(kind): "params" | "grads" | "exp_avg" | "exp_avg_sq" → { "<name>.lora_A": …, "<name>.lora_B": …, step }.
Napi::Value TrainerWrap::state(const Napi::CallbackInfo& info) {
  const std::string name = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  TrainerTensors kind;
  if (!tensors_kind(name, &kind)) invalid(info.Env(), "state(kind): kind is params, grads, exp_avg or exp_avg_sq");
  return engine_->submit_task(info.Env(), [t = trainer_, kind](ThreadPool&) {
    JobResult r;
    for (size_t i = 0; i < t->param_count(); ++i) {
      const auto [a, b] = t->tensors(i, kind);
      r.outputs.emplace_back(t->param_name(i) + ".lora_A", *a);
      r.outputs.emplace_back(t->param_name(i) + ".lora_B", *b);
    }
    r.outputs.emplace_back("step", std::vector<float>{static_cast<float>(t->step())});
    return r;
  });
}

// setState(kind, tensors, step?): replaces one kind of tensors (every parameter's, sizes checked).
Napi::Value TrainerWrap::set_state(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (info.Length() < 2 || !info[1].IsObject()) invalid(env, "setState(kind, tensors, step?)");
  TrainerTensors kind;
  if (!tensors_kind(name, &kind)) invalid(env, "setState: kind is params, grads, exp_avg or exp_avg_sq");
  const Napi::Object tensors = info[1].As<Napi::Object>();
  std::vector<std::pair<std::vector<float>, std::vector<float>>> values;
  for (size_t i = 0; i < trainer_->param_count(); ++i) {
    const std::string& param = trainer_->param_name(i);
    const auto [a, b] = trainer_->tensors(i, kind);  // sizes only: they never change
    std::vector<float> va = to_floats(tensors.Get(param + ".lora_A"), param + ".lora_A");
    std::vector<float> vb = to_floats(tensors.Get(param + ".lora_B"), param + ".lora_B");
    if (va.size() != a->size() || vb.size() != b->size())
      throw to_js_error(
          env, Status(ErrorCode::kShapeMismatch, param + ": the " + name + " given hold " + std::to_string(va.size()) +
                                                     " and " + std::to_string(vb.size()) + " values, expected " +
                                                     std::to_string(a->size()) + " and " + std::to_string(b->size())));
    values.emplace_back(std::move(va), std::move(vb));
  }
  const int64_t step = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : -1;
  return engine_->submit_task(env, [t = trainer_, kind, values = std::move(values), step](ThreadPool&) mutable {
    for (size_t i = 0; i < t->param_count(); ++i) {
      const auto [a, b] = t->tensors(i, kind);
      // Copy, not move: the layers hold pointers into these buffers.
      std::copy(values[i].first.begin(), values[i].first.end(), a->begin());
      std::copy(values[i].second.begin(), values[i].second.end(), b->begin());
    }
    if (step >= 0) t->set_step(step);
    return JobResult{};
  });
}

}  // namespace wenxin::addon
