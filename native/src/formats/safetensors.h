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

  const TensorView* find(const std::string& name) const;
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }

 private:
  std::vector<std::unique_ptr<MappedFile>> files_;
  std::map<std::string, TensorView> tensors_;
};

}  // namespace wenxin
