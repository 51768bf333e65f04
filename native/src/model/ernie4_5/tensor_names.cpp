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

bool is_symbol(const std::string& d) {
  for (const char* s : {"vocab", "hidden", "q", "kv", "ffn", "experts"})
    if (d == s) return true;
  return false;
}

// The object `key` of `o`.
const JsonValue& object(const JsonValue& o, const char* key) {
  const JsonValue* v = o.get(key);
  if (v == nullptr || !v->is_object()) malformed(std::string("'") + key + "' must be an object");
  return *v;
}

// The array `key` of `o`, every element an object.
const std::vector<JsonValue>& objects(const JsonValue& o, const char* key) {
  const JsonValue* list = o.get(key);
  if (list == nullptr || !list->is_array()) malformed(std::string("'") + key + "' must be an array");
  for (const JsonValue& e : list->array)
    if (!e.is_object()) malformed(std::string("'") + key + "' entries must be objects");
  return list->array;
}

std::vector<Ernie45TensorName> entries(const JsonValue& root, const char* key) {
  std::vector<Ernie45TensorName> out;
  for (const JsonValue& e : objects(root, key)) {
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
    if (e.get("mlp") != nullptr) n.mlp = text(e, "mlp");
    const JsonValue* shape = e.get("shape");
    if (shape == nullptr || !shape->is_array() || shape->array.empty())
      malformed("'" + n.hf + "': 'shape' must be a non-empty array");
    for (const JsonValue& d : shape->array) {
      if (d.is_string() && is_symbol(d.string))
        n.shape.push_back(d.string);
      else if (d.kind == JsonValue::Kind::kNumber && d.is_integer && d.integer >= 1)
        n.shape.push_back(std::to_string(d.integer));
      else
        malformed("'" + n.hf + "': a dimension must be a symbol or a positive integer");
    }
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
  const JsonValue& prefix = object(root, "layerPrefix");
  names.hf_layer_prefix = text(prefix, "hf");
  names.gguf_layer_prefix = text(prefix, "gguf");
  const JsonValue& remote = object(root, "remoteCodePrefix");
  names.hf_prefix = text(remote, "hf");
  names.remote_code_prefix = text(remote, "remoteCode");
  // [{hf, parts}] of `key` in `obj`, each with at least `min_parts` parts.
  auto stacked = [](const JsonValue& obj, const char* key, size_t min_parts) {
    std::vector<Ernie45FusedName> out;
    for (const JsonValue& f : objects(obj, key)) {
      Ernie45FusedName n;
      n.hf = text(f, "hf");
      const JsonValue* parts = f.get("parts");
      if (parts == nullptr || !parts->is_array() || parts->array.size() < min_parts)
        malformed("'" + n.hf + "': 'parts' must list " + std::to_string(min_parts) + " or more projections");
      for (const JsonValue& p : parts->array) {
        if (!p.is_string()) malformed("'" + n.hf + "': 'parts' must be strings");
        n.parts.push_back(p.string);
      }
      out.push_back(std::move(n));
    }
    return out;
  };
  names.fused = stacked(root, "fused", 2);
  const JsonValue& experts = object(root, "expertParameters");
  names.expert_module = text(experts, "module");
  names.expert_parameters = stacked(experts, "parameters", 1);
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

std::string leaf_of(const std::string& hf) {
  const size_t dot = hf.rfind('.');
  return dot == std::string::npos ? hf : hf.substr(dot + 1);
}

std::vector<int64_t> ernie45_shape(const Ernie45TensorName& n, const Ernie45Hparams& hp) {
  const int64_t ffn = n.mlp == "dense"    ? hp.intermediate_size
                      : n.mlp == "shared" ? hp.moe_intermediate_size * hp.moe_num_shared_experts
                                          : hp.moe_intermediate_size;
  std::vector<int64_t> out;
  for (const std::string& d : n.shape) {
    if (d == "vocab")
      out.push_back(hp.vocab_size);
    else if (d == "hidden")
      out.push_back(hp.hidden_size);
    else if (d == "q")
      out.push_back(hp.q_dim());
    else if (d == "kv")
      out.push_back(hp.kv_dim());
    else if (d == "ffn")
      out.push_back(ffn);
    else if (d == "experts")
      out.push_back(hp.moe_num_experts);
    else
      out.push_back(std::stoll(d));  // parse() let through only symbols and positive integers
  }
  return out;
}

std::string remote_code_name(const std::string& hf) {
  const Ernie45TensorNames& names = ernie45_tensor_names();
  return hf.rfind(names.hf_prefix, 0) == 0 ? names.remote_code_prefix + hf.substr(names.hf_prefix.size()) : hf;
}

const Ernie45FusedName& ernie45_expert_parameter_of(const std::string& part) {
  for (const Ernie45FusedName& f : ernie45_tensor_names().expert_parameters)
    for (const std::string& p : f.parts)
      if (p == part) return f;
  malformed("no expert parameter stacks '" + part + "'");
}

const Ernie45FusedName* ernie45_expert_parameter(const std::string& leaf) {
  for (const Ernie45FusedName& f : ernie45_tensor_names().expert_parameters)
    if (f.hf == leaf) return &f;
  return nullptr;
}

const Ernie45FusedName* ernie45_fused_of(const std::string& part) {
  for (const Ernie45FusedName& f : ernie45_tensor_names().fused)
    for (const std::string& p : f.parts)
      if (p == part) return &f;
  return nullptr;
}

}  // namespace wenxin::model
