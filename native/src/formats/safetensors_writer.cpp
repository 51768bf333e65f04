#include "formats/safetensors_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

namespace wenxin {

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

Status write_safetensors(const std::string& path, const std::vector<OutTensor>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      header += (first ? "" : ",") + json_string(k) + ":" + json_string(v);
      first = false;
    }
    header += "}";
  }
  size_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const OutTensor& t = tensors[i];
    header +=
        (i > 0 || !metadata.empty() ? "," : "") + json_string(t.name) + ":{\"dtype\":\"" + t.dtype + "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d) header += (d ? "," : "") + std::to_string(t.shape[d]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + t.bytes) + "]}";
    offset += t.bytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned

  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), std::fclose);
  if (!f) return Status(ErrorCode::kFileNotFound, "cannot create " + path + ": " + std::strerror(errno));
  const uint64_t len = header.size();
  bool ok =
      std::fwrite(&len, 8, 1, f.get()) == 1 && std::fwrite(header.data(), 1, header.size(), f.get()) == header.size();
  std::vector<uint8_t> made;
  for (const OutTensor& t : tensors) {
    const void* data = t.data;
    if (data == nullptr && t.fill && t.bytes > 0) {
      made.resize(t.bytes);
      t.fill(made.data());
      data = made.data();
    }
    ok = ok && (t.bytes == 0 || std::fwrite(data, 1, t.bytes, f.get()) == t.bytes);
  }
  if (!ok) return Status(ErrorCode::kInvalidFile, "cannot write " + path + ": " + std::strerror(errno));
  return Status::ok();
}

}  // namespace wenxin
