// Reads safetensors files: an 8-byte header length, a JSON header, then raw tensor bytes.
// Tensors are views into the memory map; nothing is copied.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"
#include "wenxin/status.h"

namespace wenxin {

// All tensors of one checkpoint, possibly spread over several shard files.
class TensorStore {
 public:
  // Maps `path` and indexes its tensors. A name seen twice across shards is an error.
  Status add_safetensors_file(const std::string& path);

  // Registers a tensor another reader produced (GGUF). Its bytes must stay alive as long as the
  // store: hand their owner to retain(). A name seen twice is an error.
  Status add_tensor(const std::string& name, TensorView view);
  void retain(std::shared_ptr<const void> owner) { owners_.push_back(std::move(owner)); }

  const TensorView* find(const std::string& name) const;
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }

 private:
  std::vector<std::unique_ptr<MappedFile>> files_;
  std::map<std::string, TensorView> tensors_;
  std::vector<std::shared_ptr<const void>> owners_;
};

}  // namespace wenxin
