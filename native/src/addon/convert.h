// Conversions between JS values and engine structs. Malformed input becomes a JS TypeError
// (thrown as a C++ exception by node-addon-api and surfaced to the caller), never a crash.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "model/ernie4_5/hparams.h"
#include "runtime/engine.h"
#include "wenxin/status.h"

namespace wenxin::addon {

// A JS Error whose `.code` is the Status code name (see packages/engine/src/errors.ts).
Napi::Error to_js_error(Napi::Env env, const Status& st);

std::vector<int32_t> to_token_ids(const Napi::Value& v, const char* what);
model::Ernie45Hparams to_hparams(const Napi::Object& o);
runtime::SamplingParams to_sampling(const Napi::Object& o);
runtime::EngineOptions to_engine_options(const Napi::Object& o);
// [{ tokenId, logprob, top: [{ tokenId, logprob }] }]
Napi::Array logprobs_to_js(Napi::Env env, const std::vector<runtime::TokenLogprob>& logprobs);
Napi::Object stats_to_js(Napi::Env env, const runtime::EngineStats& stats);
std::vector<std::string> to_strings(const Napi::Value& v, const char* what);
// [{ module, scaling, a: { file, offset, bytes, dtype, shape }, b: {…}, experts? }]
std::vector<runtime::LoraModuleRef> to_lora_modules(const Napi::Value& v);

}  // namespace wenxin::addon
