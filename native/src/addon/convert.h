// Conversions between JS values and engine structs. Malformed input becomes a JS TypeError
// (thrown as a C++ exception by node-addon-api and surfaced to the caller), never a crash.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "wenxin/adapters.h"
#include "wenxin/engine_options.h"
#include "wenxin/engine_stats.h"
#include "wenxin/hparams.h"
#include "wenxin/requests.h"
#include "wenxin/sampling.h"
#include "wenxin/status.h"

namespace wenxin::addon {

// A JS Error whose `.code` is the Status code name (see packages/engine/src/errors.ts).
Napi::Error to_js_error(Napi::Env env, const Status& st);

std::vector<int32_t> to_token_ids(const Napi::Value& v, const char* what);
Ernie45Hparams to_hparams(const Napi::Object& o);
SamplingParams to_sampling(const Napi::Object& o);
// Every key of Engine.load's native options, all required (the defaults are LOAD_DEFAULTS').
EngineOptions to_engine_options(const Napi::Object& o);
// The "weights" key alone (saveQuantized).
WeightFormat to_weight_format(const Napi::Object& o);
// [{ tokenId, logprob, top: [{ tokenId, logprob }] }]
Napi::Array logprobs_to_js(Napi::Env env, const std::vector<TokenLogprob>& logprobs);
Napi::Object stats_to_js(Napi::Env env, const EngineStats& stats);
std::vector<std::string> to_strings(const Napi::Value& v, const char* what);
Napi::Array to_js_strings(Napi::Env env, const std::vector<std::string>& strings);
// [{ module, scaling, a: { file, offset, bytes, dtype, shape }, b: {…}, experts? }]
std::vector<LoraModuleRef> to_lora_modules(const Napi::Value& v);

}  // namespace wenxin::addon
