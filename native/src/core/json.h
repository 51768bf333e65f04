// A small JSON reader for the metadata that checkpoint files carry (safetensors headers).
// Untrusted input: depth and size are bounded, and every error is a Status, never an abort.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "wenxin/status.h"

namespace wenxin {

struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  int64_t integer = 0;  // exact value when the number is an integer literal
  bool is_integer = false;
  std::string string;
  std::vector<JsonValue> array;
  std::vector<std::pair<std::string, JsonValue>> object;  // keeps file order

  // Defined in json.cpp, where JsonValue is complete: clang with libstdc++ refuses to instantiate
  // the members of vector<pair<string, JsonValue>> inside the class itself.
  JsonValue();
  JsonValue(const JsonValue&);
  JsonValue(JsonValue&&) noexcept;
  JsonValue& operator=(const JsonValue&);
  JsonValue& operator=(JsonValue&&) noexcept;
  ~JsonValue();

  const JsonValue* get(std::string_view key) const;
  bool is_object() const { return kind == Kind::kObject; }
  bool is_array() const { return kind == Kind::kArray; }
  bool is_string() const { return kind == Kind::kString; }
};

// Parses `text` completely (trailing non-space is an error).
Status parse_json(std::string_view text, JsonValue* out);

}  // namespace wenxin
