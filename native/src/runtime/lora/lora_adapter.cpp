#include "runtime/lora/lora_adapter.h"

#include <algorithm>
#include <map>

#include "core/dtype.h"
#include "core/tensor.h"
#include "formats/file_slice.h"
#include "kernels/ops.h"
#include "model/ernie4_5/tensor_names.h"

namespace wenxin::runtime {

namespace {

Status read_matrix(const LoraTensorRef& ref, const std::vector<int64_t>& shape, const std::string& what,
                   std::vector<float>* out) {
  const DType dtype = dtype_from_safetensors(ref.dtype);
  if (dtype != DType::kF32 && dtype != DType::kF16 && dtype != DType::kBF16)
    return Status(ErrorCode::kUnsupportedDtype, what + " has unsupported dtype " + ref.dtype);
  if (ref.shape != shape)
    return Status(ErrorCode::kShapeMismatch,
                  what + " has shape " + shape_to_string(ref.shape) + ", expected " + shape_to_string(shape));
  const int64_t numel = shape[0] * shape[1];
  if (ref.bytes != numel * static_cast<int64_t>(dtype_size(dtype)))
    return Status(ErrorCode::kInvalidFile, what + ": " + std::to_string(ref.bytes) + " bytes do not hold " +
                                               dtype_name(dtype) + " " + shape_to_string(shape));
  std::vector<uint8_t> raw;
  WENXIN_RETURN_IF_ERROR(read_file_slice(ref.file, ref.offset, ref.bytes, what, &raw));
  out->resize(static_cast<size_t>(numel));
  kernels::row_to_f32(raw.data(), dtype, numel, out->data());
  return Status::ok();
}

using Ready = std::vector<std::pair<model::Linear*, model::LoraSlot>>;

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Splits a fused expert parameter (the tensor-name table's expertParameters) into per-expert slots:
// expert e takes rows e·r .. e·r + r of A and columns j·E + e (j < r) of B, peft's layout; B's rows go
// to the parameter's parts in order (gate_up_proj: gate, then up).
Status fused_expert_slots(model::Ernie45Model& model, int32_t id, const LoraModuleRef& m, Ready* ready) {
  const model::Ernie45TensorNames& names = model::ernie45_tensor_names();
  const size_t dot = m.module.rfind('.');
  const std::string prefix = dot == std::string::npos ? std::string() : m.module.substr(0, dot);
  const model::Ernie45FusedName* param =
      dot == std::string::npos ? nullptr : model::ernie45_expert_parameter(m.module.substr(dot + 1));
  if (param == nullptr || !ends_with(prefix, "." + names.expert_module)) {
    std::string known;
    for (const model::Ernie45FusedName& p : names.expert_parameters)
      known += (known.empty() ? "" : " and ") + names.expert_module + "." + p.hf;
    return Status(ErrorCode::kMissingTensor,
                  "adapter targets fused parameter '" + m.module + "'; only " + known + " exist");
  }
  const int64_t E = m.experts;
  auto expert = [&](int64_t e, const std::string& proj) {
    return model.find_linear(prefix + "." + std::to_string(e) + "." + proj);
  };
  const std::string& first_part = param->parts.front();
  if (expert(0, first_part) == nullptr || expert(E - 1, first_part) == nullptr || expert(E, first_part))
    return Status(ErrorCode::kShapeMismatch, "adapter targets " + std::to_string(E) + " routed experts at '" + prefix +
                                                 "', which this model does not have");
  if (m.a.shape.size() != 2 || m.a.shape[0] < E || m.a.shape[0] % E != 0)
    return Status(ErrorCode::kShapeMismatch, m.module + ".lora_A has shape " + shape_to_string(m.a.shape) +
                                                 ", not [experts × rank, in] for " + std::to_string(E) + " experts");
  const int64_t r = m.a.shape[0] / E;
  const model::Linear* first = expert(0, first_part);
  const int64_t parts = static_cast<int64_t>(param->parts.size());
  const int64_t in = first->in, out = parts * first->out;
  std::vector<float> a, b;
  WENXIN_RETURN_IF_ERROR(read_matrix(m.a, {E * r, in}, m.module + ".lora_A", &a));
  WENXIN_RETURN_IF_ERROR(read_matrix(m.b, {out, E * r}, m.module + ".lora_B", &b));
  for (int64_t e = 0; e < E; ++e) {
    // One slot per projection: rows [o0, o0 + rows) of expert e's B with its A.
    auto slot = [&](int64_t o0, int64_t rows) {
      model::LoraSlot s;
      s.adapter = id;
      s.rank = r;
      s.scaling = m.scaling;
      s.a.assign(a.begin() + e * r * in, a.begin() + (e + 1) * r * in);
      s.b.resize(rows * r);
      for (int64_t o = 0; o < rows; ++o)
        for (int64_t j = 0; j < r; ++j) s.b[o * r + j] = b[(o0 + o) * E * r + j * E + e];
      return s;
    };
    for (int64_t i = 0; i < parts; ++i)
      ready->emplace_back(expert(e, param->parts[i]), slot(i * first->out, first->out));
  }
  return Status::ok();
}

}  // namespace

Status load_lora_adapter(model::Ernie45Model& model, int32_t id, const std::vector<LoraModuleRef>& modules) {
  Ready ready;
  for (const LoraModuleRef& m : modules) {
    if (m.experts > 0) {
      WENXIN_RETURN_IF_ERROR(fused_expert_slots(model, id, m, &ready));
      continue;
    }
    model::Linear* layer = model.find_linear(m.module);
    if (layer == nullptr)
      return Status(ErrorCode::kMissingTensor,
                    "adapter targets '" + m.module + "', which is not a linear layer of this model");
    if (m.a.shape.size() != 2) return Status(ErrorCode::kShapeMismatch, m.module + ".lora_A must be 2-D");
    model::LoraSlot slot;
    slot.adapter = id;
    slot.rank = m.a.shape[0];
    slot.scaling = m.scaling;
    WENXIN_RETURN_IF_ERROR(read_matrix(m.a, {slot.rank, layer->in}, m.module + ".lora_A", &slot.a));
    WENXIN_RETURN_IF_ERROR(read_matrix(m.b, {layer->out, slot.rank}, m.module + ".lora_B", &slot.b));
    ready.emplace_back(layer, std::move(slot));
  }
  // Room first, so that attaching cannot fail halfway (a reload replaces the old slots whole).
  std::map<model::Linear*, size_t> added;
  for (auto& [layer, slot] : ready) ++added[layer];
  for (auto& [layer, n] : added) layer->lora.reserve(layer->lora.size() + n);
  unload_lora_adapter(model, id);
  for (auto& [layer, slot] : ready) layer->lora.push_back(std::move(slot));
  return Status::ok();
}

void unload_lora_adapter(model::Ernie45Model& model, int32_t id) {
  model.for_each_linear([&](model::Linear& l) {
    l.lora.erase(
        std::remove_if(l.lora.begin(), l.lora.end(), [&](const model::LoraSlot& s) { return s.adapter == id; }),
        l.lora.end());
  });
}

}  // namespace wenxin::runtime
