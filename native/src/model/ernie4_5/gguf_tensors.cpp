#include "model/ernie4_5/gguf_tensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "core/dtype.h"
#include "formats/gguf.h"
#include "kernels/quant_formats.h"
#include "kernels/quantize_weights.h"
#include "model/ernie4_5/tensor_names.h"

namespace wenxin::model {

namespace {

struct Target {
  std::string hf_base;  // module name, "*" standing for the expert index when stacked
  std::string suffix;   // ".weight" / ".bias" / "" (the correction bias has no suffix)
  bool matrix = false;
  bool stacked = false;
  bool embedding = false;
};

bool map_name(const std::string& name, Target* t) {
  const Ernie45TensorNames& names = ernie45_tensor_names();
  for (const Ernie45TensorName& g : names.global)
    if (name == g.gguf + ".weight") {
      *t = {g.hf, ".weight", g.kind == "matrix" && !g.embedding, false, g.embedding};
      return true;
    }
  const std::string& blk = names.gguf_layer_prefix;
  if (name.rfind(blk, 0) != 0) return false;
  const size_t dot = name.find('.', blk.size());
  if (dot == std::string::npos || dot == blk.size()) return false;
  const std::string layer = name.substr(blk.size(), dot - blk.size());
  if (!std::all_of(layer.begin(), layer.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  const std::string rest = name.substr(dot + 1);
  const size_t last = rest.rfind('.');
  if (last == std::string::npos) return false;
  const std::string key = rest.substr(0, last), suffix = rest.substr(last);
  for (const Ernie45TensorName& ln : names.layer) {
    if (key != ln.gguf) continue;
    t->hf_base = names.hf_layer_prefix + layer + "." + ln.hf;
    t->suffix = ln.bias() ? "" : suffix;
    t->matrix = ln.kind == "matrix" && suffix == ".weight";
    t->stacked = ln.stacked();
    t->embedding = false;
    return true;
  }
  return false;
}

std::string expert_name(const std::string& base, int64_t e) {
  std::string s = base;
  s.replace(s.find('*'), 1, std::to_string(e));
  return s;
}

// A matrix of `rows` × `k` in our q8 or q4 layout: fp16 block scales, then the quant bytes.
struct Converted {
  std::shared_ptr<std::vector<uint8_t>> bytes;
  bool q4 = false;
  int64_t rows = 0, k = 0;
  int64_t row_bytes() const { return q4 ? kernels::q4_row_bytes(k) : k; }
  uint16_t* scales() const { return reinterpret_cast<uint16_t*>(bytes->data()); }
  uint8_t* data() const { return bytes->data() + rows * (k / kernels::kQBlock) * 2; }
};

// One row of GGUF blocks → one row of our layout.
void convert_row(uint32_t type, const uint8_t* src, int64_t k, uint16_t* scales, uint8_t* out,
                 std::vector<float>& tmp) {
  const int64_t nb = k / kernels::kQBlock;
  if (type == ggml::kQ8_0) {
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = src + b * 34;
      std::memcpy(&scales[b], blk, 2);
      for (int i = 0; i < 32; ++i) out[b * 32 + i] = static_cast<uint8_t>(static_cast<int8_t>(blk[2 + i]) + 128);
    }
    return;
  }
  if (type == ggml::kQ4_0) {
    // Q4_0 pairs element j with j + 16 inside each block; ours pairs j with j + 32 inside each
    // 64-element chunk (a trailing half chunk pairs j with j + 16, exactly like Q4_0).
    auto nibble = [&](int64_t b, int64_t i) -> uint8_t {
      const uint8_t* qs = src + b * 18 + 2;
      return i < 16 ? (qs[i] & 0x0F) : (qs[i - 16] >> 4);
    };
    for (int64_t b = 0; b < nb; ++b) std::memcpy(&scales[b], src + b * 18, 2);
    for (int64_t c = 0; c * 2 < nb; ++c) {
      if (2 * c + 1 < nb) {
        for (int64_t j = 0; j < 32; ++j)
          out[c * 32 + j] = static_cast<uint8_t>(nibble(2 * c, j) | (nibble(2 * c + 1, j) << 4));
      } else {
        std::memcpy(out + c * 32, src + 2 * c * 18 + 2, 16);
      }
    }
    return;
  }
  // K-quants: dequantize, then quantize to q8 exactly as the engine quantizes a float row.
  tmp.resize(static_cast<size_t>(k));
  ggml::dequantize_row(type, src, k, tmp.data());
  kernels::quantize_weight_row_q8(tmp.data(), k, scales, out);
}

Converted convert_matrix(const GgufTensorInfo& t, ThreadPool& pool) {
  Converted c;
  c.q4 = t.type == ggml::kQ4_0;
  c.k = t.ne[0];
  c.rows = t.numel() / c.k;
  const int64_t nb = c.k / kernels::kQBlock;
  c.bytes = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(c.rows * (nb * 2 + c.row_bytes())));
  const uint64_t src_row = ggml::row_bytes(t.type, c.k);
  pool.parallel_for(
      c.rows,
      [&](int64_t r0, int64_t r1, int) {
        std::vector<float> tmp;
        for (int64_t r = r0; r < r1; ++r)
          convert_row(t.type, t.data + r * src_row, c.k, c.scales() + r * nb, c.data() + r * c.row_bytes(), tmp);
      },
      16);
  return c;
}

std::shared_ptr<std::vector<uint8_t>> dequantize_all(const GgufTensorInfo& t, ThreadPool& pool) {
  const int64_t k = t.ne[0], rows = t.numel() / k;
  auto out = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(t.numel()) * 4);
  const uint64_t src_row = ggml::row_bytes(t.type, k);
  float* dst = reinterpret_cast<float*>(out->data());
  pool.parallel_for(
      rows,
      [&](int64_t r0, int64_t r1, int) {
        for (int64_t r = r0; r < r1; ++r) ggml::dequantize_row(t.type, t.data + r * src_row, k, dst + r * k);
      },
      16);
  return out;
}

DType float_dtype(uint32_t type) {
  return type == ggml::kF32    ? DType::kF32
         : type == ggml::kF16  ? DType::kF16
         : type == ggml::kBF16 ? DType::kBF16
                               : DType::kUnknown;
}

// Registers `c` (all experts' rows when stacked) as NAME.qweight / NAME.qscale.
Status add_converted(const Converted& c, const Target& tg, int64_t experts, TensorStore* store) {
  const int64_t nb = c.k / kernels::kQBlock, per = c.rows / experts;
  for (int64_t e = 0; e < experts; ++e) {
    const std::string base = tg.stacked ? expert_name(tg.hf_base, e) : tg.hf_base;
    TensorView w{DType::kU8, {per, c.row_bytes()}, c.data() + e * per * c.row_bytes()};
    TensorView s{DType::kF16, {per, nb}, c.scales() + e * per * nb};
    WENXIN_RETURN_IF_ERROR(store->add_tensor(base + ".qweight", w));
    WENXIN_RETURN_IF_ERROR(store->add_tensor(base + ".qscale", s));
  }
  store->retain(c.bytes);
  return Status::ok();
}

// A float view (mapped, or dequantized), split per expert when stacked.
Status add_float(const Target& tg, std::vector<int64_t> shape, DType dtype, const uint8_t* data, TensorStore* store) {
  if (!tg.stacked) return store->add_tensor(tg.hf_base + tg.suffix, TensorView{dtype, std::move(shape), data});
  const int64_t experts = shape[0];
  std::vector<int64_t> slab(shape.begin() + 1, shape.end());
  int64_t per = 1;
  for (int64_t d : slab) per *= d;
  for (int64_t e = 0; e < experts; ++e)
    WENXIN_RETURN_IF_ERROR(
        store->add_tensor(expert_name(tg.hf_base, e) + tg.suffix,
                          TensorView{dtype, slab, data + e * per * static_cast<int64_t>(dtype_size(dtype))}));
  return Status::ok();
}

}  // namespace

Status add_ernie45_gguf(const std::string& path, const Ernie45Hparams& hp, TensorStore* store, ThreadPool& pool) {
  auto file = std::make_shared<GgufFile>();
  WENXIN_RETURN_IF_ERROR(file->open(path));
  const std::string* arch = file->metadata("general.architecture");
  const std::string expected = hp.model_type == "ernie4_5_moe" ? "ernie4_5-moe" : "ernie4_5";
  if (arch == nullptr || *arch != expected)
    return Status(ErrorCode::kUnknownArchitecture, path + ": general.architecture is '" +
                                                       (arch ? *arch : std::string("(missing)")) + "', expected '" +
                                                       expected + "'");
  const Ernie45TensorName& head = ernie45_global(&Ernie45TensorName::head);
  const bool has_output = file->find(head.gguf + ".weight") != nullptr;
  for (const GgufTensorInfo& t : file->tensors()) {
    Target tg;
    if (!map_name(t.name, &tg)) continue;  // tensors the graph does not use (e.g. rope_freqs, MTP)
    if (!ggml::readable(t.type))
      return Status(ErrorCode::kUnsupportedDtype,
                    path + ": tensor '" + t.name + "' has type " + ggml::type_name(t.type) +
                        ", which wenxin.js cannot load (supported: " + ggml::readable_type_list() + ")");
    if (tg.stacked && t.ne.size() != 3)
      return Status(ErrorCode::kShapeMismatch, path + ": tensor '" + t.name + "' has " + std::to_string(t.ne.size()) +
                                                   " dimensions, expected 3 ([n_expert, rows, cols])");
    const DType dtype = float_dtype(t.type);
    if (dtype != DType::kUnknown) {
      WENXIN_RETURN_IF_ERROR(add_float(tg, t.shape(), dtype, t.data, store));
      continue;
    }
    if (tg.matrix) {
      const Converted c = convert_matrix(t, pool);
      WENXIN_RETURN_IF_ERROR(add_converted(c, tg, tg.stacked ? t.ne[2] : 1, store));
      continue;
    }
    auto values = dequantize_all(t, pool);
    WENXIN_RETURN_IF_ERROR(add_float(tg, t.shape(), DType::kF32, values->data(), store));
    store->retain(values);
    if (tg.embedding && !has_output && t.ne.size() == 2) {  // the tied head keeps the quantized form
      const Converted c = convert_matrix(t, pool);
      WENXIN_RETURN_IF_ERROR(add_converted(c, Target{head.hf, ".weight", true, false, false}, 1, store));
    }
  }
  store->retain_mapping(file->mapping());
  return Status::ok();
}

std::string gguf_name_of(const std::string& hf) {
  static const char* kSuffixes[] = {".weight", ".qweight", ".qscale", ".bias"};
  std::string base = hf, suffix;
  for (const char* s : kSuffixes) {
    const std::string sx = s;
    if (hf.size() > sx.size() && hf.compare(hf.size() - sx.size(), sx.size(), sx) == 0) {
      base = hf.substr(0, hf.size() - sx.size());
      suffix = sx == ".bias" ? ".bias" : ".weight";
      break;
    }
  }
  const Ernie45TensorNames& names = ernie45_tensor_names();
  for (const Ernie45TensorName& g : names.global)
    if (base == g.hf) return g.gguf + ".weight";
  const std::string& prefix = names.hf_layer_prefix;
  if (base.rfind(prefix, 0) != 0) return "";
  const size_t dot = base.find('.', prefix.size());
  if (dot == std::string::npos) return "";
  const std::string layer = base.substr(prefix.size(), dot - prefix.size());
  const std::string module = base.substr(dot + 1);
  for (const Ernie45TensorName& ln : names.layer) {
    std::string expert;
    if (ln.stacked()) {
      // "mlp.experts.*.gate_proj": the module matches with any index in place of '*'
      const size_t star = ln.hf.find('*');
      const std::string head = ln.hf.substr(0, star), tail = ln.hf.substr(star + 1);
      if (module.size() <= head.size() + tail.size() || module.rfind(head, 0) != 0 ||
          module.compare(module.size() - tail.size(), tail.size(), tail) != 0)
        continue;
      expert = module.substr(head.size(), module.size() - head.size() - tail.size());
      if (expert.empty() || !std::all_of(expert.begin(), expert.end(), [](char c) { return c >= '0' && c <= '9'; }))
        continue;
    } else if (module != ln.hf) {
      continue;
    }
    const std::string name = names.gguf_layer_prefix + layer + "." + ln.gguf + (ln.bias() ? ".bias" : suffix);
    return expert.empty() ? name : name + " (expert " + expert + ")";
  }
  return "";
}

Status restate_for_gguf(const Status& st, const std::string& path) {
  if (st.is_ok()) return st;
  const std::string& m = st.message();
  const size_t a = m.find('\'');
  const size_t b = a == std::string::npos ? std::string::npos : m.find('\'', a + 1);
  if (b == std::string::npos) return Status(st.code(), path + ": " + m);
  const std::string gguf = gguf_name_of(m.substr(a + 1, b - a - 1));
  if (gguf.empty()) return Status(st.code(), path + ": " + m);
  return Status(st.code(), path + ": " + m.substr(0, a + 1) + gguf + m.substr(b) + " [checkpoint name " +
                               m.substr(a + 1, b - a - 1) + "]");
}

}  // namespace wenxin::model
