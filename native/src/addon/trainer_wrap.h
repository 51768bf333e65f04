// The JS class `NativeTrainer`: a LoRA trainer over an engine's model (train/trainer.h). Every
// method that computes or changes the trainer runs on the engine's thread as a job and returns a
// promise, so training never blocks the event loop and never overlaps a generation step.
// See packages/engine/src/native/addon_types.ts.
#pragma once

#include <napi.h>

#include <memory>

#include "addon/engine_wrap.h"
#include "wenxin/trainer.h"

namespace wenxin::addon {

class TrainerWrap : public Napi::ObjectWrap<TrainerWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, EngineWrap* engine, Napi::Object engine_object,
                           std::unique_ptr<LoraTrainer> trainer);

  explicit TrainerWrap(const Napi::CallbackInfo& info);

 private:
  static Napi::FunctionReference* constructor;

  Napi::Value accumulate(const Napi::CallbackInfo& info);
  Napi::Value evaluate(const Napi::CallbackInfo& info);
  Napi::Value apply(const Napi::CallbackInfo& info);
  Napi::Value zero_grad(const Napi::CallbackInfo& info);
  Napi::Value state(const Napi::CallbackInfo& info);
  Napi::Value set_state(const Napi::CallbackInfo& info);

  EngineWrap* engine_ = nullptr;
  Napi::ObjectReference engine_ref_;  // keeps the engine (and the model it reads) alive
  std::shared_ptr<LoraTrainer> trainer_;
};

// { params: [{ name, rank, scaling, dropout, a: Float32Array, b: Float32Array }], checkpointing,
//   activationBudgetBytes }
TrainerOptions to_trainer_options(const Napi::Object& o);

}  // namespace wenxin::addon
