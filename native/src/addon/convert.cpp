#include "addon/convert.h"

namespace wenxin::addon {

namespace {

[[noreturn]] void type_error(Napi::Env env, const std::string& msg) {
  Napi::TypeError err = Napi::TypeError::New(env, msg);
  err.Set("code", Napi::String::New(env, "ERR_WENXIN_INVALID_ARGUMENT"));
  throw err;
}

double number(const Napi::Object& o, const char* key, double fallback) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) type_error(o.Env(), std::string("'") + key + "' must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

int64_t integer(const Napi::Object& o, const char* key, int64_t fallback) {
  const double d = number(o, key, static_cast<double>(fallback));
  // Range first: converting a double outside int64 (or NaN) is undefined behaviour.
  if (!(d >= -9007199254740991.0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<int64_t>(d)))
    type_error(o.Env(), std::string("'") + key + "' must be an integer");
  return static_cast<int64_t>(d);
}

std::string string(const Napi::Object& o, const char* key, const std::string& fallback) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsString()) type_error(o.Env(), std::string("'") + key + "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

bool boolean(const Napi::Object& o, const char* key, bool fallback) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsBoolean()) type_error(o.Env(), std::string("'") + key + "' must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

}  // namespace

Napi::Error to_js_error(Napi::Env env, const Status& st) {
  Napi::Error err = Napi::Error::New(env, st.message());
  err.Set("code", Napi::String::New(env, error_code_name(st.code())));
  return err;
}

std::vector<int32_t> to_token_ids(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    type_error(v.Env(), std::string(what) + " must be an Int32Array");
  const Napi::Int32Array a = v.As<Napi::Int32Array>();
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

std::vector<std::string> to_strings(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) type_error(v.Env(), std::string(what) + " must be an array of strings");
  const Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    const Napi::Value s = a.Get(i);
    if (!s.IsString()) type_error(v.Env(), std::string(what) + " must be an array of strings");
    out.push_back(s.As<Napi::String>().Utf8Value());
  }
  return out;
}

Napi::Array to_js_strings(Napi::Env env, const std::vector<std::string>& strings) {
  Napi::Array a = Napi::Array::New(env, strings.size());
  for (size_t i = 0; i < strings.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::String::New(env, strings[i]));
  return a;
}

Ernie45Hparams to_hparams(const Napi::Object& o) {
  Ernie45Hparams hp;
  const Napi::Value mt = o.Get("modelType");
  if (!mt.IsString()) type_error(o.Env(), "'modelType' must be a string");
  hp.model_type = mt.As<Napi::String>().Utf8Value();
  hp.hidden_size = integer(o, "hiddenSize", 0);
  hp.intermediate_size = integer(o, "intermediateSize", 0);
  hp.num_layers = integer(o, "numHiddenLayers", 0);
  hp.num_heads = integer(o, "numAttentionHeads", 0);
  hp.num_kv_heads = integer(o, "numKeyValueHeads", 0);
  hp.head_dim = integer(o, "headDim", 0);
  hp.vocab_size = integer(o, "vocabSize", 0);
  hp.max_position_embeddings = integer(o, "maxPositionEmbeddings", 0);
  hp.rope_theta = static_cast<float>(number(o, "ropeTheta", 500000.0));
  hp.rms_norm_eps = static_cast<float>(number(o, "rmsNormEps", 1e-5));
  hp.use_bias = boolean(o, "useBias", false);
  hp.tie_word_embeddings = boolean(o, "tieWordEmbeddings", true);
  hp.moe_num_experts = integer(o, "moeNumExperts", 0);
  hp.moe_k = integer(o, "moeK", 0);
  hp.moe_intermediate_size = integer(o, "moeIntermediateSize", 0);
  hp.moe_num_shared_experts = integer(o, "moeNumSharedExperts", 0);
  hp.moe_layer_start_index = integer(o, "moeLayerStartIndex", 0);
  hp.moe_layer_end_index = integer(o, "moeLayerEndIndex", -1);
  hp.moe_layer_interval = integer(o, "moeLayerInterval", 1);
  hp.moe_norm_min = number(o, "moeNormMin", 1e-12);
  return hp;
}

SamplingParams to_sampling(const Napi::Object& o) {
  SamplingParams p;
  p.greedy = boolean(o, "greedy", true);
  p.temperature = static_cast<float>(number(o, "temperature", 1.0));
  p.top_k = static_cast<int32_t>(integer(o, "topK", 0));
  p.top_p = static_cast<float>(number(o, "topP", 1.0));
  p.min_p = static_cast<float>(number(o, "minP", 0.0));
  p.repetition_penalty = static_cast<float>(number(o, "repetitionPenalty", 1.0));
  p.seed = static_cast<uint64_t>(integer(o, "seed", 0));
  return p;
}

std::vector<LoraModuleRef> to_lora_modules(const Napi::Value& v) {
  std::vector<LoraModuleRef> out;
  const Napi::Array arr = v.As<Napi::Array>();
  auto tensor = [](const Napi::Value& tv, const std::string& what) {
    if (!tv.IsObject()) type_error(tv.Env(), what + " must be an object");
    const Napi::Object t = tv.As<Napi::Object>();
    LoraTensorRef r;
    if (!t.Get("file").IsString() || !t.Get("dtype").IsString()) type_error(tv.Env(), what + " needs file and dtype");
    r.file = t.Get("file").As<Napi::String>().Utf8Value();
    r.dtype = t.Get("dtype").As<Napi::String>().Utf8Value();
    r.offset = integer(t, "offset", -1);
    r.bytes = integer(t, "bytes", -1);
    const Napi::Value shape = t.Get("shape");
    if (!shape.IsArray()) type_error(tv.Env(), what + ".shape must be an array");
    const Napi::Array s = shape.As<Napi::Array>();
    for (uint32_t i = 0; i < s.Length(); ++i) {
      const Napi::Value d = s.Get(i);
      const double v = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : -1;
      if (!(v >= 0 && v <= 9007199254740991.0) || v != static_cast<double>(static_cast<int64_t>(v)))
        type_error(tv.Env(), what + ".shape must hold non-negative integers");
      r.shape.push_back(static_cast<int64_t>(v));
    }
    return r;
  };
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    if (!arr.Get(i).IsObject()) type_error(v.Env(), "modules[i] must be an object");
    const Napi::Object m = arr.Get(i).As<Napi::Object>();
    LoraModuleRef ref;
    if (!m.Get("module").IsString()) type_error(v.Env(), "modules[i].module must be a string");
    ref.module = m.Get("module").As<Napi::String>().Utf8Value();
    ref.scaling = static_cast<float>(number(m, "scaling", 1.0));
    ref.a = tensor(m.Get("a"), ref.module + ".lora_A");
    ref.b = tensor(m.Get("b"), ref.module + ".lora_B");
    ref.experts = integer(m, "experts", 0);
    if (ref.experts < 0) type_error(v.Env(), "modules[i].experts must be >= 0");
    out.push_back(std::move(ref));
  }
  return out;
}

Napi::Array logprobs_to_js(Napi::Env env, const std::vector<TokenLogprob>& logprobs) {
  Napi::Array out = Napi::Array::New(env, logprobs.size());
  for (size_t i = 0; i < logprobs.size(); ++i) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("tokenId", Napi::Number::New(env, logprobs[i].token));
    entry.Set("logprob", Napi::Number::New(env, logprobs[i].logprob));
    Napi::Array top = Napi::Array::New(env, logprobs[i].top.size());
    for (size_t j = 0; j < logprobs[i].top.size(); ++j) {
      Napi::Object alt = Napi::Object::New(env);
      alt.Set("tokenId", Napi::Number::New(env, logprobs[i].top[j].first));
      alt.Set("logprob", Napi::Number::New(env, logprobs[i].top[j].second));
      top.Set(static_cast<uint32_t>(j), alt);
    }
    entry.Set("top", top);
    out.Set(static_cast<uint32_t>(i), entry);
  }
  return out;
}

Napi::Object stats_to_js(Napi::Env env, const EngineStats& s) {
  Napi::Object o = Napi::Object::New(env);
  auto num = [&](const char* key, double v) { o.Set(key, Napi::Number::New(env, v)); };
  num("waiting", static_cast<double>(s.waiting));
  num("running", static_cast<double>(s.running));
  num("paused", static_cast<double>(s.paused));
  num("kvBlocksTotal", static_cast<double>(s.kv_blocks_total));
  num("kvBlocksUsed", static_cast<double>(s.kv_blocks_used));
  num("kvBlocksCached", static_cast<double>(s.kv_blocks_cached));
  num("kvBlocksFree", static_cast<double>(s.kv_blocks_total - s.kv_blocks_used));
  num("kvBlockTokens", static_cast<double>(s.kv_block_tokens));
  num("kvBytesPerToken", static_cast<double>(s.kv_bytes_per_token));
  o.Set("kvCache", Napi::String::New(env, kv_precision_name(s.kv_precision)));
  num("prefixCacheHitTokens", static_cast<double>(s.prefix_cache_hit_tokens));
  num("promptTokens", static_cast<double>(s.prompt_tokens));
  num("generatedTokens", static_cast<double>(s.generated_tokens));
  num("steps", static_cast<double>(s.steps));
  num("preemptions", static_cast<double>(s.preemptions));
  num("lastStepMs", s.last_step_ms);
  num("meanStepMs", s.mean_step_ms);
  num("tokensPerSecond", s.tokens_per_second);
  num("constrainedRequests", static_cast<double>(s.constrained_requests));
  num("constrainedTokens", static_cast<double>(s.constrained_tokens));
  num("constraintMaskMs", s.constraint_mask_ms);
  num("constraintAdvanceMs", s.constraint_advance_ms);
  num("backgroundSteps", static_cast<double>(s.background_steps));
  num("backgroundStepMs", s.background_step_ms);
  num("backgroundRestMs", s.background_rest_ms);
  return o;
}

WeightFormat to_weight_format(const Napi::Object& o) {
  WeightFormat format = WeightFormat::kFloat;
  const std::string weights = string(o, "weights", "");
  if (!parse_weight_format(weights, &format))
    type_error(o.Env(), "'weights' must be bf16, q8, q4 or fp8, got '" + weights + "'");
  return format;
}

EngineOptions to_engine_options(const Napi::Object& o) {
  // Every option is given: the defaults live on the TypeScript side (LOAD_DEFAULTS), not here.
  for (const char* key : {"threads", "maxContext", "kvCacheTokens", "kvCacheBytes", "maxSequences", "maxBatchTokens",
                          "maxEmbeddingTokens", "kvCache", "prefixCaching", "weights"}) {
    const Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull()) type_error(o.Env(), std::string("engine option '") + key + "' is missing");
  }
  EngineOptions e;
  e.threads = static_cast<int>(integer(o, "threads", 0));
  e.max_context = integer(o, "maxContext", 0);
  e.kv_cache_tokens = integer(o, "kvCacheTokens", 0);
  e.kv_cache_bytes = integer(o, "kvCacheBytes", 0);
  e.max_sequences = integer(o, "maxSequences", 0);
  e.max_batch_tokens = integer(o, "maxBatchTokens", 0);
  e.max_embedding_tokens = integer(o, "maxEmbeddingTokens", 0);
  e.prefix_caching = boolean(o, "prefixCaching", false);
  const std::string kv = string(o, "kvCache", "");
  if (!parse_kv_precision(kv, &e.kv_precision))
    type_error(o.Env(), "'kvCache' must be f32, bf16 or int8, got '" + kv + "'");
  e.weights = to_weight_format(o);
  return e;
}

}  // namespace wenxin::addon
