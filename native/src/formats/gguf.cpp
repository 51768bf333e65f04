#include "formats/gguf.h"

#include <algorithm>
#include <cstring>

namespace wenxin {

namespace {

// GGUF metadata value types.
enum ValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32v = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

constexpr uint64_t kMaxTensors = 1u << 20;
constexpr uint64_t kMaxKeys = 1u << 20;
constexpr uint32_t kMaxDims = 4;

// A bounds-checked cursor over the header. Every read says what it was reading when it fails.
class Cursor {
 public:
  Cursor(const uint8_t* base, uint64_t size, const std::string& path) : base_(base), size_(size), path_(path) {}

  uint64_t pos() const { return pos_; }

  Status bytes(uint64_t n, const std::string& what, const uint8_t** out) {
    if (n > size_ - pos_) return truncated(what);
    *out = base_ + pos_;
    pos_ += n;
    return Status::ok();
  }

  template <typename T>
  Status scalar(const std::string& what, T* out) {
    const uint8_t* p;
    WENXIN_RETURN_IF_ERROR(bytes(sizeof(T), what, &p));
    std::memcpy(out, p, sizeof(T));  // little-endian, as GGUF is on every platform we build for
    return Status::ok();
  }

  Status string(const std::string& what, std::string* out) {
    uint64_t len;
    WENXIN_RETURN_IF_ERROR(scalar(what, &len));
    const uint8_t* p;
    WENXIN_RETURN_IF_ERROR(bytes(len, what, &p));
    out->assign(reinterpret_cast<const char*>(p), len);
    return Status::ok();
  }

  Status invalid(const std::string& what) const {
    return Status(ErrorCode::kInvalidFile, path_ + " is not a valid GGUF file: " + what);
  }

 private:
  Status truncated(const std::string& what) const {
    return invalid("the file ends inside " + what + " (offset " + std::to_string(pos_) + ", size " +
                   std::to_string(size_) + "; truncated?)");
  }

  const uint8_t* base_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& path_;
};

uint64_t scalar_size(uint32_t t) {
  switch (t) {
    case kU8:
    case kI8:
    case kBool: return 1;
    case kU16:
    case kI16: return 2;
    case kU32:
    case kI32:
    case kF32v: return 4;
    case kU64:
    case kI64:
    case kF64: return 8;
    default: return 0;
  }
}

// Reads one value; scalars and strings are kept as text in *text (arrays leave it empty).
Status read_value(Cursor& c, uint32_t type, const std::string& key, int depth, std::string* text) {
  const std::string what = "the value of '" + key + "'";
  if (type == kString) return c.string(what, text);
  if (type == kArray) {
    if (depth > 2) return c.invalid("'" + key + "' nests arrays too deeply");
    uint32_t elem;
    uint64_t n;
    WENXIN_RETURN_IF_ERROR(c.scalar(what, &elem));
    WENXIN_RETURN_IF_ERROR(c.scalar(what, &n));
    if (const uint64_t size = scalar_size(elem)) {
      if (n > (1ull << 40) / size) return c.invalid("'" + key + "' has an impossibly long array");
      const uint8_t* skip;
      return c.bytes(n * size, what, &skip);
    }
    if (elem != kString && elem != kArray)
      return c.invalid("'" + key + "' has arrays of unknown type " + std::to_string(elem));
    std::string ignored;
    for (uint64_t i = 0; i < n; ++i) WENXIN_RETURN_IF_ERROR(read_value(c, elem, key, depth + 1, &ignored));
    text->clear();
    return Status::ok();
  }
  const uint64_t size = scalar_size(type);
  if (size == 0) return c.invalid("'" + key + "' has unknown value type " + std::to_string(type));
  const uint8_t* p;
  WENXIN_RETURN_IF_ERROR(c.bytes(size, what, &p));
  switch (type) {
    case kU8: *text = std::to_string(p[0]); break;
    case kI8: *text = std::to_string(static_cast<int8_t>(p[0])); break;
    case kBool: *text = p[0] ? "true" : "false"; break;
    case kU16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      *text = std::to_string(v);
      break;
    }
    case kI16: {
      int16_t v;
      std::memcpy(&v, p, 2);
      *text = std::to_string(v);
      break;
    }
    case kU32: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      *text = std::to_string(v);
      break;
    }
    case kI32: {
      int32_t v;
      std::memcpy(&v, p, 4);
      *text = std::to_string(v);
      break;
    }
    case kU64: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      *text = std::to_string(v);
      break;
    }
    case kI64: {
      int64_t v;
      std::memcpy(&v, p, 8);
      *text = std::to_string(v);
      break;
    }
    case kF32v: {
      float v;
      std::memcpy(&v, p, 4);
      *text = std::to_string(v);
      break;
    }
    case kF64: {
      double v;
      std::memcpy(&v, p, 8);
      *text = std::to_string(v);
      break;
    }
  }
  return Status::ok();
}

}  // namespace

Status GgufFile::open(const std::string& path) {
  file_ = std::make_shared<MappedFile>();
  WENXIN_RETURN_IF_ERROR(file_->open(path));
  return parse(file_->data(), file_->size(), path);
}

Status GgufFile::parse(const uint8_t* base, uint64_t size, const std::string& path) {
  path_ = path;
  metadata_.clear();
  tensors_.clear();
  index_.clear();
  Cursor c(base, size, path_);

  const uint8_t* magic;
  WENXIN_RETURN_IF_ERROR(c.bytes(4, "the magic number", &magic));
  if (std::memcmp(magic, "GGUF", 4) != 0) return c.invalid("it does not start with the magic 'GGUF'");
  WENXIN_RETURN_IF_ERROR(c.scalar("the version", &version_));
  if (version_ != 2 && version_ != 3)
    return c.invalid("version " + std::to_string(version_) + " is not supported (only 2 and 3)");
  uint64_t n_tensors, n_kv;
  WENXIN_RETURN_IF_ERROR(c.scalar("the tensor count", &n_tensors));
  WENXIN_RETURN_IF_ERROR(c.scalar("the metadata count", &n_kv));
  if (n_tensors > kMaxTensors || n_kv > kMaxKeys)
    return c.invalid("it claims " + std::to_string(n_tensors) + " tensors and " + std::to_string(n_kv) +
                     " metadata keys");

  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key, text;
    uint32_t type;
    WENXIN_RETURN_IF_ERROR(c.string("metadata key " + std::to_string(i), &key));
    WENXIN_RETURN_IF_ERROR(c.scalar("the type of '" + key + "'", &type));
    WENXIN_RETURN_IF_ERROR(read_value(c, type, key, 0, &text));
    if (type != kArray) metadata_[key] = text;
  }

  uint64_t alignment = 32;
  if (const std::string* a = metadata("general.alignment")) {
    alignment = std::strtoull(a->c_str(), nullptr, 10);
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > (1u << 20))
      return c.invalid("general.alignment " + *a + " is not a power of two");
  }

  struct Pending {
    uint64_t offset;
  };
  std::vector<Pending> offsets;
  // Room for what the rest of the file can hold, not what its header claims: every tensor info
  // takes at least a name length, a dimension count, one dimension, a type and an offset.
  constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
  tensors_.reserve(std::min<uint64_t>(n_tensors, (size - c.pos()) / kMinTensorInfoBytes));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    WENXIN_RETURN_IF_ERROR(c.string("the name of tensor " + std::to_string(i), &t.name));
    const std::string what = "the info of tensor '" + t.name + "'";
    uint32_t n_dims;
    WENXIN_RETURN_IF_ERROR(c.scalar(what, &n_dims));
    if (n_dims == 0 || n_dims > kMaxDims)
      return c.invalid("tensor '" + t.name + "' has " + std::to_string(n_dims) + " dimensions (1 to 4 allowed)");
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne;
      WENXIN_RETURN_IF_ERROR(c.scalar(what, &ne));
      if (ne == 0 || ne > (1ull << 40) || numel > (1ull << 48) / ne)
        return c.invalid("tensor '" + t.name + "' has an impossible dimension " + std::to_string(ne));
      numel *= ne;
      t.ne.push_back(static_cast<int64_t>(ne));
    }
    uint64_t offset;
    WENXIN_RETURN_IF_ERROR(c.scalar(what, &t.type));
    WENXIN_RETURN_IF_ERROR(c.scalar(what, &offset));
    if (offset % alignment != 0)
      return c.invalid("tensor '" + t.name + "' starts at offset " + std::to_string(offset) +
                       ", not a multiple of the alignment " + std::to_string(alignment));
    const ggml::TypeInfo info = ggml::type_info(t.type);
    if (info.block_elems > 0) {
      if (t.ne[0] % info.block_elems != 0)
        return c.invalid("tensor '" + t.name + "' of type " + ggml::type_name(t.type) + " has rows of " +
                         std::to_string(t.ne[0]) + " elements, not a multiple of its block size " +
                         std::to_string(info.block_elems));
      t.bytes = numel / info.block_elems * info.block_bytes;
    }
    if (index_.count(t.name)) return c.invalid("tensor '" + t.name + "' appears twice");
    index_[t.name] = tensors_.size();
    offsets.push_back({offset});
    tensors_.push_back(std::move(t));
  }

  const uint64_t data_start = (c.pos() + alignment - 1) / alignment * alignment;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    GgufTensorInfo& t = tensors_[i];
    const uint64_t begin = data_start + offsets[i].offset;
    if (begin > size || t.bytes > size - begin)
      return Status(ErrorCode::kInvalidFile, path_ + ": tensor '" + t.name + "' (" + ggml::type_name(t.type) + ", " +
                                                 std::to_string(t.bytes) + " bytes at offset " + std::to_string(begin) +
                                                 ") extends past the end of the file (" + std::to_string(size) +
                                                 " bytes); the file is truncated or corrupt");
    t.data = base + begin;
  }
  return Status::ok();
}

const std::string* GgufFile::metadata(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

const GgufTensorInfo* GgufFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace wenxin
