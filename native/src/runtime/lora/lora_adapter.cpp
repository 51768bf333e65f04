#include "runtime/lora/lora_adapter.h"

#include <algorithm>
#include <map>

#include "core/dtype.h"
#include "core/tensor.h"
#include "formats/file_slice.h"
#include "kernels/ops.h"

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

}  // namespace

Status load_lora_adapter(model::Ernie45Model& model, int32_t id, const std::vector<LoraModuleRef>& modules) {
  std::vector<std::pair<model::Linear*, model::LoraSlot>> ready;
  for (const LoraModuleRef& m : modules) {
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
