// All tensors of one checkpoint by name, whatever file format holds them: safetensors shards are
// mapped and indexed here; other readers (GGUF, model/ernie4_5/gguf_tensors.cpp) register views.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"
#include "wenxin/status.h"

namespace wenxin {

class ThreadPool;

class TensorStore {
 public:
  // Maps `path` and indexes its tensors. A name seen twice across shards is an error.
  Status add_safetensors_file(const std::string& path);

  // Registers a tensor another reader produced (GGUF). Its bytes must stay alive as long as the
  // store: hand their owner to retain(). A name seen twice is an error.
  Status add_tensor(const std::string& name, TensorView view);
  void retain(std::shared_ptr<const void> owner) { owners_.push_back(std::move(owner)); }
  // Same, for another reader's memory map, which check_files() then watches with the shards.
  void retain_mapping(std::shared_ptr<const MappedFile> file) { mappings_.push_back(std::move(file)); }

  const TensorView* find(const std::string& name) const;
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  // The file a tensor was read from ("" when unknown), for error messages.
  const std::string& file_of(const std::string& name) const;
  // The files searched, comma-separated, for "not found in ..." messages.
  std::string file_list() const;

  // Fails with the tensor's name and file when a float tensor (F32, F16, BF16) holds a NaN or an
  // infinity. One vectorised pass over the data, split across `pool`.
  Status check_finite(ThreadPool& pool) const;

  // Fails (ERR_WENXIN_INVALID_FILE, naming the file) when a mapped file was truncated or changed
  // size since it was mapped: whatever was computed from it must be discarded (core/mapping_guard.h).
  Status check_files() const;

 private:
  std::vector<std::unique_ptr<MappedFile>> files_;
  std::map<std::string, TensorView> tensors_;
  std::vector<std::shared_ptr<const void>> owners_;
  std::vector<std::shared_ptr<const MappedFile>> mappings_;
  std::map<std::string, size_t> file_index_;  // tensor name -> files_ index
  // Tensors whose bytes in the map are not aligned to their element size (the format does not
  // require padding): copied once so that kernels may load elements through typed pointers.
  std::vector<std::unique_ptr<uint8_t[]>> aligned_copies_;
};

}  // namespace wenxin
