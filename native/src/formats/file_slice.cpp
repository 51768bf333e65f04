#include "formats/file_slice.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wenxin {

Status read_file_slice(const std::string& path, int64_t offset, int64_t bytes, const std::string& what,
                       std::vector<uint8_t>* out) {
  if (offset < 0 || bytes < 0)
    return Status(ErrorCode::kInvalidFile,
                  what + ": bad byte range " + std::to_string(offset) + "+" + std::to_string(bytes) + " in " + path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status(ErrorCode::kFileNotFound, "cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && bytes <= st.st_size && offset <= st.st_size - bytes;
  if (ok) {
    out->resize(static_cast<size_t>(bytes));
    size_t done = 0;
    while (ok && done < out->size()) {
      const ssize_t n = pread(fd, out->data() + done, out->size() - done, offset + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) done += static_cast<size_t>(n);
    }
  }
  ::close(fd);
  if (!ok)
    return Status(ErrorCode::kInvalidFile, what + ": bytes " + std::to_string(offset) + "+" + std::to_string(bytes) +
                                               " are not readable in " + path);
  return Status::ok();
}

}  // namespace wenxin
