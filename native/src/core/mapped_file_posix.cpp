#if !defined(_WIN32)

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "core/mapped_file.h"
#include "core/mapping_guard.h"

namespace wenxin {

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Transparent huge pages for a weight range (Linux; macOS and the BSDs have no such advice).
// Advisory: refused or unsupported is fine.
void advise_huge_pages(void* p, size_t bytes) {
#if defined(MADV_HUGEPAGE)
  madvise(p, bytes, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

}  // namespace

MappedFile::~MappedFile() {
  if (guard_slot_ >= 0) mapping_guard::unwatch(guard_slot_);
  if (data_ != nullptr && size_ > 0) munmap(const_cast<uint8_t*>(data_), size_);
  if (file_ >= 0) ::close(static_cast<int>(file_));
}

Status MappedFile::open(const std::string& path) {
  path_ = path;
  // O_NONBLOCK: opening a FIFO would otherwise wait for a writer before fstat could refuse it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const ErrorCode code = errno == ENOENT ? ErrorCode::kFileNotFound : ErrorCode::kInvalidFile;
    return Status(code, "cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status(ErrorCode::kInvalidFile, "cannot stat " + path + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status(ErrorCode::kInvalidFile,
                  path + " is " + kind_of(st.st_mode) + ", not a regular file: model files must be regular files");
  }
  if (st.st_size == 0) {
    ::close(fd);
    return Status(ErrorCode::kInvalidFile, path + " is empty");
  }
  void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    ::close(fd);
    return Status(ErrorCode::kInvalidFile, "cannot mmap " + path + ": " + std::strerror(err));
  }
  // Huge pages where the page cache holds (or its readahead reads) 2 MB folios: a decode step streams
  // every weight, and on 4 KB pages it pays a TLB miss per page.
  advise_huge_pages(p, static_cast<size_t>(st.st_size));
  file_ = fd;  // kept open for check_intact()'s size re-check
  size_ = static_cast<size_t>(st.st_size);
  data_ = static_cast<const uint8_t*>(p);
  guard_slot_ = mapping_guard::watch(data_, size_);
  return Status::ok();
}

Status MappedFile::check_intact() const {
  if (data_ == nullptr) return Status::ok();
  if (mapping_guard::faulted(guard_slot_))
    return Status(ErrorCode::kInvalidFile, path_ + " was truncated while in use (a read went past its new end); " +
                                               "results computed from it were discarded");
  struct stat st;
  if (fstat(static_cast<int>(file_), &st) == 0 && static_cast<size_t>(st.st_size) != size_)
    return Status(ErrorCode::kInvalidFile, path_ + " changed size while in use (" + std::to_string(size_) +
                                               " bytes when " + "loaded, " + std::to_string(st.st_size) + " now)");
  return Status::ok();
}

size_t page_size() {
  static const size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

void release_mapped_pages(const void* p, size_t bytes) {
  const size_t page = page_size();
  const uintptr_t a = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
  const uintptr_t e = (reinterpret_cast<uintptr_t>(p) + bytes) / page * page;
  if (e > a) madvise(reinterpret_cast<void*>(a), e - a, MADV_DONTNEED);
}

std::shared_ptr<uint8_t> allocate_weight_buffer(size_t bytes) {
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t page = page_size();
  const size_t size = (std::max<size_t>(bytes, 1) + page - 1) / page * page;
  // Over-reserve by 2 MB, keep the aligned part: only whole aligned 2 MB ranges can be huge pages. The
  // tail is not rounded up to 2 MB (it stays in small pages rather than costing a whole huge page).
  void* raw = mmap(nullptr, size + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHuge - 1) / kHuge * kHuge;
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + size + kHuge;
  if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - (aligned + size));
  advise_huge_pages(reinterpret_cast<void*>(aligned), size);
  return std::shared_ptr<uint8_t>(reinterpret_cast<uint8_t*>(aligned), [size](uint8_t* p) { munmap(p, size); });
}

}  // namespace wenxin

#endif
