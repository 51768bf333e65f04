#if defined(_WIN32)

#include <windows.h>

#include <string>

#include "core/mapped_file.h"

namespace wenxin {

namespace {

std::wstring widen(const std::string& utf8) {
  const int n = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring out(static_cast<size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), out.data(), n);
  return out;
}

std::string last_error() {
  const DWORD code = GetLastError();
  char buf[256] = {0};
  const DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, code, 0, buf,
                                 sizeof(buf), nullptr);
  std::string s(buf, n);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == '.')) s.pop_back();
  return s.empty() ? "error " + std::to_string(code) : s;
}

}  // namespace

MappedFile::~MappedFile() {
  if (data_ != nullptr) UnmapViewOfFile(data_);
  if (section_ != nullptr) CloseHandle(static_cast<HANDLE>(section_));
  if (file_ != -1) CloseHandle(reinterpret_cast<HANDLE>(file_));
}

Status MappedFile::open(const std::string& path) {
  path_ = path;
  HANDLE file = CreateFileW(widen(path).c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                            nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE) {
    const DWORD err = GetLastError();
    const ErrorCode code = (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) ? ErrorCode::kFileNotFound
                                                                                        : ErrorCode::kInvalidFile;
    return Status(code, "cannot open " + path + ": " + last_error());
  }
  if (GetFileType(file) != FILE_TYPE_DISK) {
    CloseHandle(file);
    return Status(ErrorCode::kInvalidFile,
                  path + " is a pipe or device, not a regular file: model files must be regular files");
  }
  LARGE_INTEGER size;
  if (!GetFileSizeEx(file, &size)) {
    const std::string err = last_error();
    CloseHandle(file);
    return Status(ErrorCode::kInvalidFile, "cannot stat " + path + ": " + err);
  }
  if (size.QuadPart == 0) {
    CloseHandle(file);
    return Status(ErrorCode::kInvalidFile, path + " is empty");
  }
  // While this section exists Windows refuses to truncate the file (ERROR_USER_MAPPED_FILE).
  HANDLE section = CreateFileMappingW(file, nullptr, PAGE_READONLY, 0, 0, nullptr);
  if (section == nullptr) {
    const std::string err = last_error();
    CloseHandle(file);
    return Status(ErrorCode::kInvalidFile, "cannot map " + path + ": " + err);
  }
  const void* view = MapViewOfFile(section, FILE_MAP_READ, 0, 0, 0);
  if (view == nullptr) {
    const std::string err = last_error();
    CloseHandle(section);
    CloseHandle(file);
    return Status(ErrorCode::kInvalidFile, "cannot map " + path + ": " + err);
  }
  file_ = reinterpret_cast<intptr_t>(file);
  section_ = section;
  size_ = static_cast<size_t>(size.QuadPart);
  data_ = static_cast<const uint8_t*>(view);
  return Status::ok();
}

Status MappedFile::check_intact() const {
  LARGE_INTEGER size;
  if (data_ != nullptr && GetFileSizeEx(reinterpret_cast<HANDLE>(file_), &size) &&
      static_cast<size_t>(size.QuadPart) != size_)
    return Status(ErrorCode::kInvalidFile, path_ + " changed size while in use (" + std::to_string(size_) +
                                               " bytes when " + "loaded, " + std::to_string(size.QuadPart) + " now)");
  return Status::ok();
}

size_t page_size() {
  SYSTEM_INFO info;
  GetSystemInfo(&info);
  return info.dwPageSize;
}

void release_mapped_pages(const void*, size_t) {}

std::shared_ptr<uint8_t> allocate_weight_buffer(size_t bytes) {
  return std::shared_ptr<uint8_t>(new uint8_t[bytes > 0 ? bytes : 1](), std::default_delete<uint8_t[]>());
}

}  // namespace wenxin

#endif
