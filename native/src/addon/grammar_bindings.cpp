#include "addon/grammar_bindings.h"

#include <string>

#include "addon/convert.h"
#include "wenxin/grammar.h"

namespace wenxin::addon {

namespace {

[[noreturn]] void fail(Napi::Env env, const std::string& msg) {
  throw to_js_error(env, Status(ErrorCode::kInvalidArgument, msg));
}

template <typename Array>
Array typed(const Napi::Value& v, napi_typedarray_type type, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    fail(v.Env(), std::string(what) + " has the wrong array type");
  return v.As<Array>();
}

std::shared_ptr<const Grammar> grammar_of(Napi::Env env, const Napi::Value& rules_v, const Napi::Value& sets_v) {
  const auto rules = typed<Napi::Int32Array>(rules_v, napi_int32_array, "constraint.rules");
  const auto sets = typed<Napi::Uint32Array>(sets_v, napi_uint32_array, "constraint.sets");
  std::shared_ptr<const Grammar> g;
  const Status st = decode_grammar(rules.Data(), rules.ElementLength(), sets.Data(), sets.ElementLength(), &g);
  if (!st.is_ok()) throw to_js_error(env, st);
  return g;
}

}  // namespace

void set_vocabulary(const Napi::CallbackInfo& info, Engine* engine) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) fail(env, "setVocabulary(bytes, offsets, special) needs three arrays");
  const auto bytes = typed<Napi::Uint8Array>(info[0], napi_uint8_array, "bytes");
  const auto offsets = typed<Napi::Int32Array>(info[1], napi_int32_array, "offsets");
  const auto special = typed<Napi::Uint8Array>(info[2], napi_uint8_array, "special");
  if (offsets.ElementLength() < 2 || special.ElementLength() != offsets.ElementLength() - 1)
    fail(env, "offsets must have one entry more than special");
  std::shared_ptr<const Vocabulary> vocab;
  const Status st = create_vocabulary(bytes.Data(), bytes.ElementLength(), offsets.Data(), special.ElementLength(),
                                      special.Data(), engine->hparams().vocab_size, &vocab);
  if (!st.is_ok()) throw to_js_error(env, st);
  engine->set_vocabulary(std::move(vocab));
}

void read_constraint(const Napi::Object& params, Engine* engine, GenerateRequest* req) {
  const Napi::Value c = params.Get("constraint");
  if (c.IsUndefined() || c.IsNull()) return;
  Napi::Env env = params.Env();
  if (!c.IsObject()) fail(env, "constraint must be an object");
  const Napi::Object o = c.As<Napi::Object>();
  req->grammar = grammar_of(env, o.Get("rules"), o.Get("sets"));
  const Napi::Value trigger = o.Get("trigger");
  if (!trigger.IsUndefined()) {
    const auto t = typed<Napi::Uint8Array>(trigger, napi_uint8_array, "constraint.trigger");
    req->trigger.assign(reinterpret_cast<const char*>(t.Data()), t.ElementLength());
  }
  const Napi::Value rearm = o.Get("rearm");
  if (!rearm.IsUndefined()) {
    if (!rearm.IsBoolean()) fail(env, "constraint.rearm must be a boolean");
    req->rearm = rearm.As<Napi::Boolean>().Value();
  }
  req->vocabulary = engine->vocabulary();
  if (!req->vocabulary)
    fail(env, "the engine has no vocabulary for constrained generation (setVocabulary was not called)");
}

void add_constraint_fields(Napi::Env env, Napi::Object& o, const TokenEvent& ev) {
  if (ev.constraint_phase < 0) return;
  static const char* kPhases[] = {"waiting", "active", "complete"};
  Napi::Object c = Napi::Object::New(env);
  c.Set("phase", Napi::String::New(env, kPhases[ev.constraint_phase]));
  c.Set("accepting", Napi::Boolean::New(env, ev.constraint_accepting));
  Napi::Uint8Array bytes = Napi::Uint8Array::New(env, ev.constrained_bytes.size());
  std::copy(ev.constrained_bytes.begin(), ev.constrained_bytes.end(), bytes.Data());
  c.Set("bytes", bytes);
  o.Set("constraint", c);
}

Napi::Value grammar_match(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) fail(env, "grammarMatch(rules, sets, input) needs three arrays");
  const auto input = typed<Napi::Uint8Array>(info[2], napi_uint8_array, "input");
  const GrammarMatch m = match_grammar(grammar_of(env, info[0], info[1]), input.Data(), input.ElementLength());
  Napi::Object out = Napi::Object::New(env);
  out.Set("consumed", Napi::Number::New(env, static_cast<double>(m.consumed)));
  out.Set("accepting", Napi::Boolean::New(env, m.accepting));
  out.Set("canContinue", Napi::Boolean::New(env, m.can_continue));
  out.Set("minCompletion", Napi::Number::New(env, m.min_completion));
  return out;
}

}  // namespace wenxin::addon
