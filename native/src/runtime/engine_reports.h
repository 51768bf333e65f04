// Building blocks of an EngineReport: a request's last event, and what an exception escaping a
// stage of the engine becomes.
#pragma once

#include <exception>
#include <string>

#include "runtime/sequence.h"
#include "wenxin/requests.h"

namespace wenxin::runtime {

// The last event of a request that ends without a new token.
inline TokenEvent final_event(uint64_t id, FinishReason reason, Status error = Status::ok(),
                              const Sequence* s = nullptr) {
  TokenEvent ev;
  ev.id = id;
  ev.done = true;
  ev.reason = reason;
  ev.error = std::move(error);
  if (s) {
    ev.prompt_tokens = s->prompt_tokens();
    ev.completion_tokens = s->generated;
  }
  return ev;
}

// Call inside a catch block: an INTERNAL status naming the stage that failed and why.
inline Status internal_error(const char* stage) {
  try {
    throw;
  } catch (const std::exception& ex) {
    return Status(ErrorCode::kInternal, std::string(stage) + " failed: " + ex.what());
  } catch (...) {
    return Status(ErrorCode::kInternal, std::string(stage) + " failed");
  }
}

}  // namespace wenxin::runtime
