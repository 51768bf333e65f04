// The JS side of constrained decoding: the vocabulary's byte strings, a request's `constraint`
// parameter, the constraint fields of token events, and grammarMatch() for tests.
// See packages/engine/src/native/addon_types.ts.
#pragma once

#include <napi.h>

#include "wenxin/engine.h"

namespace wenxin::addon {

// engine.setVocabulary(bytes: Uint8Array, offsets: Int32Array, special: Uint8Array)
void set_vocabulary(const Napi::CallbackInfo& info, Engine* engine);

// Reads params.constraint ({ rules: Int32Array, sets: Uint32Array, trigger?: Uint8Array }) into
// `req`; throws a JS error for a malformed grammar or when no vocabulary was set.
void read_constraint(const Napi::Object& params, Engine* engine, GenerateRequest* req);

// Adds `constraint: { phase, accepting, bytes }` to an event object of a constrained request.
void add_constraint_fields(Napi::Env env, Napi::Object& o, const TokenEvent& ev);

// grammarMatch(rules, sets, input: Uint8Array): { consumed, accepting, canContinue, minCompletion }:
// how many bytes of `input` form a valid prefix, and the matcher's state after them.
Napi::Value grammar_match(const Napi::CallbackInfo& info);

}  // namespace wenxin::addon
