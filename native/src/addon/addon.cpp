// Module entry: registers the native surface declared in packages/engine/src/native/addon_types.ts.
#include <napi.h>

#include <algorithm>

#include "addon/convert.h"
#include "addon/engine_wrap.h"
#include "addon/grammar_bindings.h"
#include "addon/quantize_worker.h"
#include "addon/trainer_wrap.h"
#include "wenxin/sampling.h"
#include "wenxin/status.h"
#include "wenxin/system_info.h"
#include "wenxin/testing.h"

namespace wenxin::addon {

namespace {

// applyLogitsProcessors(logits, history, params): Float32Array — the sampler's processors on
// one row, exposed so tests can compare them with transformers' outputs.
Napi::Value apply_logits_processors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array || !info[2].IsObject())
    throw to_js_error(env,
                      Status(ErrorCode::kInvalidArgument, "applyLogitsProcessors(Float32Array, Int32Array, params)"));
  const Napi::Float32Array in = info[0].As<Napi::Float32Array>();
  const std::vector<int32_t> history = to_token_ids(info[1], "history");
  const SamplingParams params = to_sampling(info[2].As<Napi::Object>());
  Napi::Float32Array out = Napi::Float32Array::New(env, in.ElementLength());
  std::copy(in.Data(), in.Data() + in.ElementLength(), out.Data());
  apply_logits_processors(out.Data(), static_cast<int64_t>(out.ElementLength()), history, params);
  return out;
}

// measureReadBandwidth(megabytes, threads): GB/s of a streaming read (for roofline figures).
Napi::Value measure_bandwidth(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t mb = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int64Value() : 1024;
  const int threads = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 1;
  if (mb < 1 || mb > 16384 || threads < 1 || threads > 1024)
    throw to_js_error(env,
                      Status(ErrorCode::kInvalidArgument, "measureReadBandwidth(megabytes 1..16384, threads 1..1024)"));
  return Napi::Number::New(env, measure_read_bandwidth(mb << 20, threads));
}

// The kernel path in use (WENXIN_ISA or the best the CPU supports), and all it could use.
Napi::Value kernel_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const KernelPaths paths = kernel_paths();
  if (!paths.error.empty()) {
    Napi::Error err = Napi::Error::New(env, paths.error);
    err.Set("code", Napi::String::New(env, error_code_name(ErrorCode::kUnsupportedIsa)));
    throw err;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("active", Napi::String::New(env, paths.active));
  o.Set("supported", to_js_strings(env, paths.supported));
  return o;
}

// testing.injectFault(site, key): the next pass of an engine site ("sampling", "constraint":
// request id; "adapterLoad": adapter id) throws. testing.clearFaults() disarms all.
Napi::Value inject_fault(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string site = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  testing::FaultSite s;
  if (site == "sampling")
    s = testing::FaultSite::kSampling;
  else if (site == "constraint")
    s = testing::FaultSite::kConstraint;
  else if (site == "adapterLoad")
    s = testing::FaultSite::kAdapterLoad;
  else
    throw to_js_error(env,
                      Status(ErrorCode::kInvalidArgument, "injectFault(sampling | constraint | adapterLoad, key)"));
  if (info.Length() < 2 || !info[1].IsNumber())
    throw to_js_error(env, Status(ErrorCode::kInvalidArgument, "injectFault needs a numeric key"));
  testing::arm_fault(s, info[1].As<Napi::Number>().Int64Value());
  return env.Undefined();
}

Napi::Value clear_faults(const Napi::CallbackInfo& info) {
  testing::clear_faults();
  return info.Env().Undefined();
}

}  // namespace

}  // namespace wenxin::addon

static Napi::Object init_addon(Napi::Env env, Napi::Object exports) {
  using namespace wenxin::addon;
  exports.Set("NativeEngine", EngineWrap::define(env));
  exports.Set("NativeTrainer", TrainerWrap::define(env));
  exports.Set("loadEngine", Napi::Function::New(env, load_engine));
  exports.Set("applyLogitsProcessors", Napi::Function::New(env, apply_logits_processors));
  exports.Set("measureReadBandwidth", Napi::Function::New(env, measure_bandwidth));
  exports.Set("kernelInfo", Napi::Function::New(env, kernel_info));
  exports.Set("saveQuantized", Napi::Function::New(env, save_quantized));
  exports.Set("grammarMatch", Napi::Function::New(env, grammar_match));
  Napi::Object testing = Napi::Object::New(env);
  testing.Set("injectFault", Napi::Function::New(env, inject_fault));
  testing.Set("clearFaults", Napi::Function::New(env, clear_faults));
  exports.Set("testing", testing);
  return exports;
}

NODE_API_MODULE(wenxin_native, init_addon)
