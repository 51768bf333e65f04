#include "formats/safetensors.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <tuple>

#include "core/json.h"
#include "core/thread_pool.h"
#include "formats/finite_check.h"

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
    for (const auto& seen : *out)
      if (seen.first == name) return invalid(path, "tensor '" + name + "' appears twice in its header");
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

Status TensorStore::add_safetensors_file(const std::string& path) {
  auto file = std::make_unique<MappedFile>();
  WENXIN_RETURN_IF_ERROR(file->open(path));
  std::vector<std::pair<std::string, TensorView>> parsed;
  WENXIN_RETURN_IF_ERROR(parse_safetensors(file->data(), file->size(), path, &parsed));
  for (const auto& entry : parsed)
    if (tensors_.count(entry.first))
      return invalid(
          path, "tensor '" + entry.first + "' appears in more than one shard (also in " + file_of(entry.first) + ")");
  for (auto& [name, view] : parsed) {
    const size_t width = dtype_size(view.dtype);
    if (width > 1 && reinterpret_cast<uintptr_t>(view.data) % width != 0 && view.numel() > 0) {
      const size_t bytes = static_cast<size_t>(view.numel()) * width;
      auto copy = std::make_unique<uint8_t[]>(bytes);  // operator new[]: aligned to 16
      std::memcpy(copy.get(), view.data, bytes);
      view.data = copy.get();
      aligned_copies_.push_back(std::move(copy));
    }
    file_index_.emplace(name, files_.size());
    tensors_.emplace(std::move(name), std::move(view));
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

const std::string& TensorStore::file_of(const std::string& name) const {
  static const std::string kNone;
  auto it = file_index_.find(name);
  return it == file_index_.end() ? kNone : files_[it->second]->path();
}

std::string TensorStore::file_list() const {
  std::string s;
  for (const auto& f : files_) s += (s.empty() ? "" : ", ") + f->path();
  return s;
}

Status TensorStore::check_files() const {
  for (const auto& f : files_) WENXIN_RETURN_IF_ERROR(f->check_intact());
  for (const auto& f : mappings_) WENXIN_RETURN_IF_ERROR(f->check_intact());
  return Status::ok();
}

Status TensorStore::check_finite(ThreadPool& pool) const {
  // Work items of at most 1 MiB so one large tensor is spread over every thread.
  constexpr int64_t kChunkBytes = 1 << 20;
  struct Item {
    const std::string* name;
    const TensorView* view;
    int64_t begin, end;  // elements
  };
  std::vector<Item> items;
  for (const auto& [name, view] : tensors_) {
    if (view.dtype != DType::kF32 && view.dtype != DType::kF16 && view.dtype != DType::kBF16) continue;
    const int64_t n = view.numel();
    const int64_t step = std::max<int64_t>(1, kChunkBytes / static_cast<int64_t>(dtype_size(view.dtype)));
    for (int64_t b = 0; b < n; b += step) items.push_back({&name, &view, b, std::min(n, b + step)});
  }
  std::atomic<size_t> first_bad{items.size()};
  pool.parallel_for(static_cast<int64_t>(items.size()), [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      const Item& it = items[i];
      const size_t width = dtype_size(it.view->dtype);
      const uint8_t* p = static_cast<const uint8_t*>(it.view->data) + it.begin * width;
      if (!all_finite(p, it.view->dtype, it.end - it.begin)) {
        size_t cur = first_bad.load();
        while (static_cast<size_t>(i) < cur && !first_bad.compare_exchange_weak(cur, static_cast<size_t>(i))) {}
        return;
      }
    }
  });
  if (first_bad.load() == items.size()) return Status::ok();
  const Item& bad = items[first_bad.load()];
  const size_t width = dtype_size(bad.view->dtype);
  const int64_t at = bad.begin + first_non_finite(static_cast<const uint8_t*>(bad.view->data) + bad.begin * width,
                                                  bad.view->dtype, bad.end - bad.begin);
  return Status(ErrorCode::kInvalidFile, "tensor '" + *bad.name + "' in " + file_of(*bad.name) +
                                             " holds a NaN or infinity (" + dtype_name(bad.view->dtype) + " element " +
                                             std::to_string(at) + ")");
}

}  // namespace wenxin
