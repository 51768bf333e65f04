#include "formats/safetensors.h"

#include <cstring>

#include "core/json.h"

namespace wenxin {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the format's own limit

Status invalid(const std::string& path, const std::string& what) {
  return Status(ErrorCode::kInvalidFile, path + " is not a valid safetensors file: " + what);
}

}  // namespace

Status TensorStore::add_safetensors_file(const std::string& path) {
  auto file = std::make_unique<MappedFile>();
  WENXIN_RETURN_IF_ERROR(file->open(path));
  const uint8_t* base = file->data();
  const size_t size = file->size();
  if (size < 8) return invalid(path, "shorter than its 8-byte header length");
  uint64_t header_len;
  std::memcpy(&header_len, base, 8);  // little-endian on every platform we build for
  if (header_len > kMaxHeaderBytes || header_len > size - 8)
    return invalid(path, "header length " + std::to_string(header_len) + " exceeds the file size " + std::to_string(size));

  JsonValue header;
  Status st = parse_json(std::string_view(reinterpret_cast<const char*>(base + 8), header_len), &header);
  if (!st.is_ok()) return invalid(path, st.message());
  if (!header.is_object()) return invalid(path, "header is not a JSON object");

  const uint8_t* data_start = base + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  for (const auto& [name, info] : header.object) {
    if (name == "__metadata__") continue;
    if (!info.is_object()) return invalid(path, "entry '" + name + "' is not an object");
    const JsonValue* dtype = info.get("dtype");
    const JsonValue* shape = info.get("shape");
    const JsonValue* offsets = info.get("data_offsets");
    if (!dtype || !dtype->is_string() || !shape || !shape->is_array() || !offsets || !offsets->is_array() ||
        offsets->array.size() != 2)
      return invalid(path, "entry '" + name + "' lacks dtype, shape or data_offsets");

    TensorView view;
    view.dtype = dtype_from_safetensors(dtype->string);
    // Unknown dtypes are kept (as kUnknown) so the loader can name the tensor when it needs it.
    uint64_t numel = 1;
    for (const JsonValue& d : shape->array) {
      if (!d.is_integer || d.integer < 0) return invalid(path, "entry '" + name + "' has a bad shape");
      view.shape.push_back(d.integer);
      if (d.integer != 0 && numel > (1ull << 48) / static_cast<uint64_t>(d.integer))
        return invalid(path, "entry '" + name + "' is impossibly large");
      numel *= static_cast<uint64_t>(d.integer);
    }
    const JsonValue& b = offsets->array[0];
    const JsonValue& e = offsets->array[1];
    if (!b.is_integer || !e.is_integer || b.integer < 0 || e.integer < b.integer ||
        static_cast<uint64_t>(e.integer) > data_size)
      return invalid(path, "entry '" + name + "' has data_offsets outside the file");
    const uint64_t bytes = static_cast<uint64_t>(e.integer - b.integer);
    if (view.dtype != DType::kUnknown && bytes != numel * dtype_size(view.dtype))
      return invalid(path, "entry '" + name + "' holds " + std::to_string(bytes) + " bytes, but " + dtype->string +
                               " " + shape_to_string(view.shape) + " needs " +
                               std::to_string(numel * dtype_size(view.dtype)));
    view.data = data_start + b.integer;
    if (tensors_.count(name)) return invalid(path, "tensor '" + name + "' appears in more than one shard");
    tensors_.emplace(name, std::move(view));
  }
  files_.push_back(std::move(file));
  return Status::ok();
}

Status TensorStore::add_tensor(const std::string& name, TensorView view) {
  if (tensors_.count(name)) return Status(ErrorCode::kInvalidFile, "tensor '" + name + "' is given twice");
  tensors_.emplace(name, std::move(view));
  return Status::ok();
}

const TensorView* TensorStore::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

}  // namespace wenxin
