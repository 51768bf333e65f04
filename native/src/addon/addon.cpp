// Module entry: registers the native surface declared in packages/engine/src/native/addon_types.ts.
#include <napi.h>

#include <algorithm>

#include "addon/convert.h"
#include "addon/engine_wrap.h"
#include "addon/grammar_bindings.h"
#include "runtime/sampler/sampler.h"

namespace wenxin::addon {

namespace {

// applyLogitsProcessors(logits, history, params): Float32Array — the sampler's processors on
// one row, exposed so tests can compare them with transformers' outputs.
Napi::Value apply_logits_processors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
      !info[2].IsObject())
    throw to_js_error(env, Status(ErrorCode::kInvalidArgument, "applyLogitsProcessors(Float32Array, Int32Array, params)"));
  const Napi::Float32Array in = info[0].As<Napi::Float32Array>();
  const std::vector<int32_t> history = to_token_ids(info[1], "history");
  const runtime::SamplingParams params = to_sampling(info[2].As<Napi::Object>());
  Napi::Float32Array out = Napi::Float32Array::New(env, in.ElementLength());
  std::copy(in.Data(), in.Data() + in.ElementLength(), out.Data());
  runtime::apply_logits_processors(out.Data(), static_cast<int64_t>(out.ElementLength()), history, params);
  return out;
}

}  // namespace

}  // namespace wenxin::addon

static Napi::Object init_addon(Napi::Env env, Napi::Object exports) {
  using namespace wenxin::addon;
  exports.Set("NativeEngine", EngineWrap::define(env));
  exports.Set("loadEngine", Napi::Function::New(env, load_engine));
  exports.Set("applyLogitsProcessors", Napi::Function::New(env, apply_logits_processors));
  exports.Set("grammarMatch", Napi::Function::New(env, grammar_match));
  return exports;
}

NODE_API_MODULE(wenxin_native, init_addon)
