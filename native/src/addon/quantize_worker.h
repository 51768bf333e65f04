#pragma once
#include <napi.h>
namespace wenxin::addon {
Napi::Value save_quantized(const Napi::CallbackInfo& info);
}
