// Reads GGUF files (llama.cpp's format, versions 2 and 3): header, key/value metadata, tensor
// infos and the aligned tensor data, all bounds-checked against the memory map. Tensor data is
// used in place; nothing is copied here.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "formats/ggml_blocks.h"
#include "wenxin/status.h"

namespace wenxin {

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // ggml order: innermost (contiguous) dimension first
  uint32_t type = 0;        // ggml type id (see ggml_blocks.h); may be one we cannot read
  const uint8_t* data = nullptr;
  uint64_t bytes = 0;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    return n;
  }
  // The PyTorch-order shape (outermost first).
  std::vector<int64_t> shape() const { return std::vector<int64_t>(ne.rbegin(), ne.rend()); }
};

class GgufFile {
 public:
  // Maps `path` and parses everything but the tensor bytes. Every failure names the file, and the
  // key or tensor it is about.
  Status open(const std::string& path);
  // The same over a GGUF image already in memory (`path` only names it in errors); tensors point
  // into `base`, which must outlive this object.
  Status parse(const uint8_t* base, uint64_t size, const std::string& path);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  // Scalar and string metadata values, as text (arrays are skipped; the JS side reads them).
  const std::string* metadata(const std::string& key) const;
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find(const std::string& name) const;

 private:
  std::shared_ptr<MappedFile> file_;
  std::string path_;
  uint32_t version_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> index_;

 public:
  // The mapping, shared with tensors registered elsewhere so they outlive this object.
  std::shared_ptr<MappedFile> mapping() const { return file_; }
};

}  // namespace wenxin
