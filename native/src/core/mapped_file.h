// A read-only memory map of a whole file: checkpoint weights are used in place, never copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "wenxin/status.h"

namespace wenxin {

class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  Status open(const std::string& path);
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace wenxin
