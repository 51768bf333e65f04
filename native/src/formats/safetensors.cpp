#include "formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <tuple>
#include <unordered_set>

#include "core/json.h"

namespace wenxin {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the format's own limit
constexpr size_t kMaxRank = 8;

Status invalid(const std::string& path, const std::string& what) {
  return Status(ErrorCode::kInvalidFile, path + " is not a valid safetensors file: " + what);
}

}  // namespace

Status parse_safetensors(const uint8_t* base, size_t size, const std::string& path,
                         std::vector<std::pair<std::string, TensorView>>* out) {
  out->clear();
  if (size < 8) return invalid(path, "shorter than its 8-byte header length");
  uint64_t header_len;
  std::memcpy(&header_len, base, 8);  // little-endian on every platform we build for
  if (header_len > kMaxHeaderBytes || header_len > size - 8)
    return invalid(path,
                   "header length " + std::to_string(header_len) + " exceeds the file size " + std::to_string(size));

  JsonValue header;
  Status st = parse_json(std::string_view(reinterpret_cast<const char*>(base + 8), header_len), &header);
  if (!st.is_ok()) return invalid(path, st.message());
  if (!header.is_object()) return invalid(path, "header is not a JSON object");

  const uint8_t* data_start = base + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  std::vector<std::tuple<uint64_t, uint64_t, size_t>> extents;  // begin, end, index in *out
  std::unordered_set<std::string_view> names;                   // views into `header`, which outlives the loop
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
    if (shape->array.size() > kMaxRank)
      return invalid(path,
                     "entry '" + name + "' has " + std::to_string(shape->array.size()) + " dimensions (at most 8)");
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
      return invalid(path, "entry '" + name + "' has data_offsets outside the file (data section is " +
                               std::to_string(data_size) + " bytes)");
    const uint64_t bytes = static_cast<uint64_t>(e.integer - b.integer);
    if (view.dtype != DType::kUnknown && bytes != numel * dtype_size(view.dtype))
      return invalid(path, "entry '" + name + "' holds " + std::to_string(bytes) + " bytes, but " + dtype->string +
                               " " + shape_to_string(view.shape) + " needs " +
                               std::to_string(numel * dtype_size(view.dtype)));
    view.data = data_start + b.integer;
    if (!names.insert(name).second) return invalid(path, "tensor '" + name + "' appears twice in its header");
    if (bytes > 0)
      extents.emplace_back(static_cast<uint64_t>(b.integer), static_cast<uint64_t>(e.integer), out->size());
    out->emplace_back(name, std::move(view));
  }
  // Two tensors sharing bytes would let a write through one (a quantized copy, say) alias the other.
  std::sort(extents.begin(), extents.end());
  for (size_t i = 1; i < extents.size(); ++i)
    if (std::get<0>(extents[i]) < std::get<1>(extents[i - 1]))
      return invalid(path, "tensors '" + (*out)[std::get<2>(extents[i - 1])].first + "' and '" +
                               (*out)[std::get<2>(extents[i])].first + "' overlap (data_offsets " +
                               std::to_string(std::get<0>(extents[i])) + " < " +
                               std::to_string(std::get<1>(extents[i - 1])) + ")");
  return Status::ok();
}

}  // namespace wenxin
