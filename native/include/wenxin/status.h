// Status: how every native entry point reports failure. Bad input never aborts the process;
// it comes back as a Status whose code the addon turns into a JS error `.code`.
#pragma once

#include <string>
#include <utility>

namespace wenxin {

enum class ErrorCode {
  kOk = 0,
  kFileNotFound,
  kInvalidConfig,
  kUnknownArchitecture,
  kUnsupportedDtype,
  kMissingTensor,
  kShapeMismatch,
  kInvalidFile,
  kContextOverflow,
  kTokenOutOfRange,
  kKvCacheFull,
  kInvalidArgument,
  kAborted,
  kEngineClosed,
  kInternal,
  kUnsupportedIsa,  // WENXIN_ISA names a kernel path this build or CPU cannot run
};

// The stable string that JS sees as `error.code` (see packages/engine/src/errors.ts).
inline const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "OK";
    case ErrorCode::kFileNotFound: return "ERR_WENXIN_FILE_NOT_FOUND";
    case ErrorCode::kInvalidConfig: return "ERR_WENXIN_INVALID_CONFIG";
    case ErrorCode::kUnknownArchitecture: return "ERR_WENXIN_UNKNOWN_ARCHITECTURE";
    case ErrorCode::kUnsupportedDtype: return "ERR_WENXIN_UNSUPPORTED_DTYPE";
    case ErrorCode::kMissingTensor: return "ERR_WENXIN_MISSING_TENSOR";
    case ErrorCode::kShapeMismatch: return "ERR_WENXIN_SHAPE_MISMATCH";
    case ErrorCode::kInvalidFile: return "ERR_WENXIN_INVALID_FILE";
    case ErrorCode::kContextOverflow: return "ERR_WENXIN_CONTEXT_OVERFLOW";
    case ErrorCode::kTokenOutOfRange: return "ERR_WENXIN_TOKEN_OUT_OF_RANGE";
    case ErrorCode::kKvCacheFull: return "ERR_WENXIN_KV_CACHE_FULL";
    case ErrorCode::kInvalidArgument: return "ERR_WENXIN_INVALID_ARGUMENT";
    case ErrorCode::kAborted: return "ERR_WENXIN_ABORTED";
    case ErrorCode::kEngineClosed: return "ERR_WENXIN_ENGINE_CLOSED";
    case ErrorCode::kInternal: return "ERR_WENXIN_INTERNAL";
    case ErrorCode::kUnsupportedIsa: return "ERR_WENXIN_UNSUPPORTED_ISA";
  }
  return "ERR_WENXIN_INTERNAL";
}

class Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// Returns early from the enclosing function when `expr` yields a non-ok Status.
#define WENXIN_RETURN_IF_ERROR(expr) \
  do {                               \
    ::wenxin::Status _st = (expr);   \
    if (!_st.is_ok()) return _st;    \
  } while (0)

}  // namespace wenxin
