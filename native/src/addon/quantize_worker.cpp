// saveQuantized(hparams, files, { weights, tiles }, outFile, threads): Promise<void>. Loads the checkpoint,
// quantizes its matrices and writes them to one safetensors file, on a worker thread.
#include "addon/quantize_worker.h"

#include "addon/convert.h"
#include "wenxin/quantize.h"

namespace wenxin::addon {

namespace {

class QuantizeWorker : public Napi::AsyncWorker {
 public:
  QuantizeWorker(Napi::Env env, Ernie45Hparams hp, std::vector<std::string> files, WeightFormat format, std::string out,
                 int threads, bool tiles)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        hp_(std::move(hp)),
        files_(std::move(files)),
        format_(format),
        out_(std::move(out)),
        threads_(threads),
        tiles_(tiles) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override { status_ = save_quantized(hp_, files_, format_, out_, threads_, tiles_); }

  void OnOK() override {
    if (status_.is_ok())
      deferred_.Resolve(Env().Undefined());
    else
      deferred_.Reject(to_js_error(Env(), status_).Value());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Ernie45Hparams hp_;
  std::vector<std::string> files_;
  WeightFormat format_;
  std::string out_;
  int threads_;
  bool tiles_;
  Status status_;
};

}  // namespace

Napi::Value save_quantized(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsObject() || !info[2].IsObject() || !info[3].IsString() || !info[4].IsNumber())
    throw to_js_error(env, Status(ErrorCode::kInvalidArgument,
                                  "saveQuantized(hparams, files, { weights, tiles }, outFile, threads)"));
  const WeightFormat weights = to_weight_format(info[2].As<Napi::Object>());
  if (weights == WeightFormat::kFloat)
    throw to_js_error(env,
                      Status(ErrorCode::kInvalidArgument, "quantize to q8, q4 or fp8 (bf16 is the stored format)"));
  const Napi::Value tiles = info[2].As<Napi::Object>().Get("tiles");
  auto* w = new QuantizeWorker(env, to_hparams(info[0].As<Napi::Object>()), to_strings(info[1], "files"), weights,
                               info[3].As<Napi::String>().Utf8Value(), info[4].As<Napi::Number>().Int32Value(),
                               tiles.IsBoolean() && tiles.As<Napi::Boolean>().Value());
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

}  // namespace wenxin::addon
