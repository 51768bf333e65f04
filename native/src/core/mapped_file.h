// A read-only memory map of a whole file: checkpoint weights are used in place, never copied.
// Platform layer: POSIX mmap (mapped_file_posix.cpp) or CreateFileMapping + MapViewOfFile
// (mapped_file_win32.cpp).
//
// Only regular files are mapped: a FIFO, socket, device or directory is refused with
// ERR_WENXIN_INVALID_FILE (a FIFO is opened non-blocking, so refusing it never waits for a writer).
//
// A file truncated while mapped: on POSIX a read past the new end raises SIGBUS. mapping_guard.h
// answers that read with zero pages instead of ending the process and marks the mapping, and
// check_intact() then fails with a typed error, so the work that read it is discarded (see
// mapping_guard.h for exactly what is and is not covered). Windows refuses to truncate a file
// while a view of it exists, so there the guard is the OS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
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

  // Ok while the file is as it was mapped; ERR_WENXIN_INVALID_FILE naming the file when a read
  // went past its end (it was truncated) or its size has changed since open().
  Status check_intact() const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  intptr_t file_ = -1;  // POSIX descriptor or Windows file HANDLE, kept for size re-checks
#if defined(_WIN32)
  void* section_ = nullptr;  // the file-mapping HANDLE
#else
  int guard_slot_ = -1;  // mapping_guard registration
#endif
};

// The OS page size (the unit of mapping and of release_mapped_pages).
size_t page_size();

// Hands the whole pages inside [p, p + bytes) of a read-only file mapping back to the OS (they are
// re-read from the file if touched again): for weights copied elsewhere at load. POSIX: madvise
// MADV_DONTNEED; Windows: nothing (the pages stay in the working set until trimmed).
void release_mapped_pages(const void* p, size_t bytes);

// Zeroed memory for weights repacked at load (the kernels' tiles), freed with the last owner. POSIX: an
// anonymous mapping that starts on a 2 MB boundary and asks for transparent huge pages (MADV_HUGEPAGE),
// before anything touches it: with THP in `madvise` mode (the usual default) a decode GEMV streaming
// 4 KB pages spends its time in TLB misses. Windows: plain heap memory.
std::shared_ptr<uint8_t> allocate_weight_buffer(size_t bytes);

}  // namespace wenxin
