#include "formats/tensor_store.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "core/thread_pool.h"
#include "formats/finite_check.h"
#include "formats/safetensors.h"

namespace wenxin {

Status TensorStore::add_safetensors_file(const std::string& path) {
  auto file = std::make_unique<MappedFile>();
  WENXIN_RETURN_IF_ERROR(file->open(path));
  std::vector<std::pair<std::string, TensorView>> parsed;
  WENXIN_RETURN_IF_ERROR(parse_safetensors(file->data(), file->size(), path, &parsed));
  for (const auto& entry : parsed)
    if (tensors_.count(entry.first))
      return Status(ErrorCode::kInvalidFile, path + " is not a valid safetensors file: tensor '" + entry.first +
                                                 "' appears in more than one shard (also in " + file_of(entry.first) +
                                                 ")");
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
