#include "model/ernie4_5/tensor_names.h"

#include <cstdio>
#include <cstdlib>

#include "core/json.h"

namespace wenxin::model {

// tensor_names.json's text (the file CMake generates from it).
extern const char kErnie45TensorNamesJson[];

namespace {

[[noreturn]] void malformed(const std::string& why) {
  std::fprintf(stderr, "wenxin: model/ernie4_5/tensor_names.json: %s\n", why.c_str());
  std::abort();
}

std::string text(const JsonValue& o, const char* key) {
  const JsonValue* v = o.get(key);
  if (v == nullptr || !v->is_string()) malformed(std::string("'") + key + "' must be a string");
  return v->string;
}

std::vector<Ernie45TensorName> entries(const JsonValue& root, const char* key) {
  const JsonValue* list = root.get(key);
  if (list == nullptr || !list->is_array()) malformed(std::string("'") + key + "' must be an array");
  std::vector<Ernie45TensorName> out;
  for (const JsonValue& e : list->array) {
    if (!e.is_object()) malformed(std::string("'") + key + "' entries must be objects");
    Ernie45TensorName n;
    n.hf = text(e, "hf");
    n.gguf = text(e, "gguf");
    n.kind = text(e, "kind");
    const auto flag = [&](const char* name) {
      const JsonValue* v = e.get(name);
      return v != nullptr && v->kind == JsonValue::Kind::kBool && v->boolean;
    };
    n.embedding = flag("embedding");
    n.head = flag("head");
    out.push_back(std::move(n));
  }
  return out;
}

Ernie45TensorNames parse() {
  JsonValue root;
  const Status st = parse_json(kErnie45TensorNamesJson, &root);
  if (!st.is_ok()) malformed(st.message());
  Ernie45TensorNames names;
  names.global = entries(root, "global");
  names.layer = entries(root, "layer");
  const JsonValue* prefix = root.get("layerPrefix");
  if (prefix == nullptr || !prefix->is_object()) malformed("'layerPrefix' must be an object");
  names.hf_layer_prefix = text(*prefix, "hf");
  names.gguf_layer_prefix = text(*prefix, "gguf");
  for (bool Ernie45TensorName::* flag : {&Ernie45TensorName::embedding, &Ernie45TensorName::head}) {
    int marked = 0;
    for (const Ernie45TensorName& n : names.global) marked += n.*flag ? 1 : 0;
    if (marked != 1) malformed("exactly one global entry must be the embedding, and one the head");
  }
  return names;
}

}  // namespace

const Ernie45TensorNames& ernie45_tensor_names() {
  static const Ernie45TensorNames names = parse();
  return names;
}

const Ernie45TensorName& ernie45_global(bool Ernie45TensorName::* flag) {
  for (const Ernie45TensorName& n : ernie45_tensor_names().global)
    if (n.*flag) return n;
  malformed("no such global entry");  // unreachable: parse() checked both flags
}

const Ernie45TensorName& ernie45_tensor(const std::string& gguf) {
  const Ernie45TensorNames& names = ernie45_tensor_names();
  for (const auto* list : {&names.global, &names.layer})
    for (const Ernie45TensorName& n : *list)
      if (n.gguf == gguf) return n;
  malformed("no entry has the GGUF key '" + gguf + "'");
}

std::string module_of(const std::string& hf) {
  const size_t dot = hf.rfind('.');
  return dot == std::string::npos ? std::string() : hf.substr(0, dot);
}

}  // namespace wenxin::model
