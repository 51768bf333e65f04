#include "model/ernie4_5/weights.h"

#include <memory>
#include <string>

#include "kernels/interleaved_tiles.h"
#include "kernels/kernels.h"
#include "kernels/ops.h"
#include "model/ernie4_5/tensor_names.h"

namespace wenxin::model {

namespace {

// Binds the table's tensors (tensor_names.json: names and shapes) of one checkpoint.
class Binder {
 public:
  // `map_tiles`: q4 matrices saved in the active kernels' tiles are used in place (else unpacked).
  Binder(const Ernie45Hparams& hp, const TensorStore& store, bool map_tiles)
      : hp_(hp), store_(store), map_tiles_(map_tiles) {
    const std::string embed = ernie45_global(&Ernie45TensorName::embedding).hf + ".weight";
    remote_code_ = store.find(embed) == nullptr && store.find(remote_code_name(embed)) != nullptr;
  }

  // A table name ("model.norm", "model.layers.") as this checkpoint spells it.
  std::string named(const std::string& hf) const { return remote_code_ ? remote_code_name(hf) : hf; }
  std::vector<int64_t> shape(const Ernie45TensorName& e) const { return ernie45_shape(e, hp_); }

  Status tensor(const std::string& name, std::vector<int64_t> shape, TensorView* out) const {
    const TensorView* t = store_.find(name);
    if (t == nullptr)
      return Status(ErrorCode::kMissingTensor, "missing tensor '" + name + "' (expected shape " +
                                                   shape_to_string(shape) + ") in " + store_.file_list());
    if (t->dtype != DType::kF32 && t->dtype != DType::kBF16 && t->dtype != DType::kF16)
      return Status(ErrorCode::kUnsupportedDtype, "tensor '" + name + "' in " + store_.file_of(name) +
                                                      " has unsupported dtype " + std::string(dtype_name(t->dtype)) +
                                                      " (expected F32, F16 or BF16)");
    if (t->shape != shape)
      return Status(ErrorCode::kShapeMismatch, "tensor '" + name + "' in " + store_.file_of(name) + " has shape " +
                                                   shape_to_string(t->shape) + ", expected " + shape_to_string(shape));
    *out = *t;
    return Status::ok();
  }

  // Reads a small tensor into float32 (norm weights, router, biases).
  Status vector(const std::string& name, std::vector<int64_t> shape, std::vector<float>* out) const {
    TensorView t;
    WENXIN_RETURN_IF_ERROR(tensor(name, shape, &t));
    out->resize(static_cast<size_t>(t.numel()));
    kernels::row_to_f32(t.data, t.dtype, t.numel(), out->data());
    return Status::ok();
  }

  Status linear(const std::string& name, int64_t out, int64_t in, Linear* l) const {
    l->name = name;
    l->out = out;
    l->in = in;
    if (store_.find(name + ".weight") == nullptr && store_.find(name + ".qweight") != nullptr)
      WENXIN_RETURN_IF_ERROR(quantized(name, out, in, l));
    else if (store_.find(name + ".weight") == nullptr && store_.find(name + ".qtiles") != nullptr)
      WENXIN_RETURN_IF_ERROR(tiled(name, out, in, l));
    else
      WENXIN_RETURN_IF_ERROR(tensor(name + ".weight", {out, in}, &l->weight));
    if (hp_.use_bias) return vector(name + ".bias", {out}, &l->bias);
    return Status::ok();
  }

  // A matrix saved by `wenxin quantize`: NAME.qweight (U8 rows in the kernels' layout) and
  // NAME.qscale (F16 block scales for q8/q4, F32 row scales for fp8). Used in place from the map.
  Status quantized(const std::string& name, int64_t out, int64_t in, Linear* l) const {
    const TensorView* w = store_.find(name + ".qweight");
    const TensorView* s = store_.find(name + ".qscale");
    if (s == nullptr)
      return Status(ErrorCode::kMissingTensor, "missing tensor '" + name + ".qscale' (the scales of " + name +
                                                   ".qweight) in " + store_.file_list());
    const int64_t nb = in / kernels::kQBlock;
    const bool block_scales = s->dtype == DType::kF16 && s->shape == std::vector<int64_t>{out, nb};
    if (w->dtype == DType::kU8 && block_scales && in % kernels::kQBlock == 0 &&
        w->shape == std::vector<int64_t>{out, in / 2}) {
      l->format = WeightFormat::kQ4;
    } else if (w->dtype == DType::kU8 && block_scales && in % kernels::kQBlock == 0 &&
               w->shape == std::vector<int64_t>{out, in}) {
      l->format = WeightFormat::kQ8;
    } else if (w->dtype == DType::kU8 && s->dtype == DType::kF32 && s->shape == std::vector<int64_t>{out} &&
               w->shape == std::vector<int64_t>{out, in}) {
      l->format = WeightFormat::kFp8;
    } else {
      return Status(ErrorCode::kShapeMismatch,
                    "quantized tensor '" + name + ".qweight' in " + store_.file_of(name + ".qweight") + ": " +
                        dtype_name(w->dtype) + " " + shape_to_string(w->shape) + " with scales " +
                        dtype_name(s->dtype) + " " + shape_to_string(s->shape) + " fits no format: expected U8 " +
                        shape_to_string({out, in}) + " (q8) or " + shape_to_string({out, in / 2}) + " (q4) with F16 " +
                        shape_to_string({out, nb}) + ", or U8 " + shape_to_string({out, in}) + " with F32 " +
                        shape_to_string({out}) + " (fp8)");
    }
    l->quantized.n = out;
    l->quantized.k = in;
    l->quantized.data = static_cast<const uint8_t*>(w->data);
    if (l->format == WeightFormat::kFp8)
      l->quantized.row_scale = static_cast<const float*>(s->data);
    else
      l->quantized.block_scale = static_cast<const uint16_t*>(s->data);
    return Status::ok();
  }

  // A q4 matrix saved in a CPU's kernel tiles (`wenxin quantize` with `tiles`): NAME.qtiles, U8
  // [groups, in / 32, 18 × rows] in interleaved_tiles.h's layout with `rows` rows per group. Read in
  // place from the map when the active kernels use the same tiles, else unpacked into the plain layout
  // (and repacked after, when the active kernels have tiles of their own).
  Status tiled(const std::string& name, int64_t out, int64_t in, Linear* l) const {
    const TensorView* t = store_.find(name + ".qtiles");
    const int64_t nb = in / kernels::kQBlock;
    const int64_t rows = t->shape.size() == 3 ? t->shape[2] / 18 : 0;
    if (t->dtype != DType::kU8 || in % kernels::kQBlock != 0 || rows < 1 || t->shape[2] != 18 * rows ||
        t->shape[1] != nb || t->shape[0] != (out + rows - 1) / rows)
      return Status(ErrorCode::kShapeMismatch, "q4 tiles '" + name + ".qtiles' in " + store_.file_of(name + ".qtiles") +
                                                   ": " + dtype_name(t->dtype) + " " + shape_to_string(t->shape) +
                                                   " fits no tiling of a " + shape_to_string({out, in}) +
                                                   " matrix: expected U8 [ceil(" + std::to_string(out) + " / rows), " +
                                                   std::to_string(nb) + ", 18 × rows]");
    l->format = WeightFormat::kQ4;
    l->quantized.n = out;
    l->quantized.k = in;
    const auto& K = kernels::active_kernels();
    if (map_tiles_ && K.interleaved_q4_tiles && K.pack_rows == rows) {
      l->quantized.packed = static_cast<const uint8_t*>(t->data);
      return Status::ok();
    }
    auto storage = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(out * nb * 2 + out * (in / 2)));
    auto* scales = reinterpret_cast<uint16_t*>(storage->data());
    uint8_t* data = storage->data() + out * nb * 2;
    kernels::tiles::unpack_q4(static_cast<const uint8_t*>(t->data), rows, out, in, data, scales);
    l->quantized.data = data;
    l->quantized.block_scale = scales;
    l->storage = std::move(storage);
    return Status::ok();
  }

  // A matrix of the table in one layer: the name ("model.layers.3.mlp.experts.7.up_proj"), the
  // shape, and where it goes.
  struct Matrix {
    std::string name;
    std::vector<int64_t> shape;
    Linear* out;
  };
  // `layer`: "model.layers.3"; `key`: the entry's GGUF key; `expert`: what a routed expert's '*' stands for.
  Matrix matrix(const std::string& layer, const char* key, Linear* out, int64_t expert = -1) const {
    const Ernie45TensorName& e = ernie45_tensor(key);
    std::string name = layer + "." + e.hf;
    if (expert >= 0) name.replace(name.find('*'), 1, std::to_string(expert));
    return {std::move(name), shape(e), out};
  }

  // The matrices of one module; where an export fused some of them into one (tensor_names.json's
  // `fused`: qkv_proj = [q; k; v], up_gate_proj = [gate; up]), they are that matrix's rows.
  Status matrices(const std::vector<Matrix>& ms) const {
    std::vector<bool> bound(ms.size(), false);
    for (const Ernie45FusedName& f : ernie45_tensor_names().fused) {
      std::vector<size_t> parts;
      for (const std::string& part : f.parts)
        for (size_t i = 0; i < ms.size(); ++i)
          if (leaf_of(ms[i].name) == part) parts.push_back(i);
      if (parts.size() != f.parts.size()) continue;
      const Matrix& first = ms[parts[0]];
      const std::string fused_name = module_of(first.name) + "." + f.hf + ".weight";
      if (store_.find(fused_name) == nullptr || store_.find(first.name + ".weight") != nullptr) continue;
      const int64_t in = first.shape[1];
      int64_t rows = 0;
      for (size_t i : parts) rows += ms[i].shape[0];
      TensorView fused;
      WENXIN_RETURN_IF_ERROR(tensor(fused_name, {rows, in}, &fused));
      int64_t row = 0;
      for (size_t i : parts) {
        Linear& l = *ms[i].out;
        l = Linear();
        l.name = ms[i].name;
        l.out = ms[i].shape[0];
        l.in = in;
        l.weight = fused;
        l.weight.shape = {l.out, in};
        l.weight.data = static_cast<const uint8_t*>(fused.data) + row * in * dtype_size(fused.dtype);
        row += l.out;
        bound[i] = true;
      }
    }
    for (size_t i = 0; i < ms.size(); ++i)
      if (!bound[i]) WENXIN_RETURN_IF_ERROR(linear(ms[i].name, ms[i].shape[0], ms[i].shape[1], ms[i].out));
    return Status::ok();
  }

  // A norm, router or bias of `layer`, widened to float32.
  Status small(const std::string& layer, const char* key, std::vector<float>* out) const {
    const Ernie45TensorName& e = ernie45_tensor(key);
    return vector(layer + "." + e.hf + (e.bias() ? "" : ".weight"), shape(e), out);
  }

  Status attention(const std::string& layer, LayerWeights* lw) const {
    return matrices({matrix(layer, "attn_q", &lw->q), matrix(layer, "attn_k", &lw->k), matrix(layer, "attn_v", &lw->v),
                     matrix(layer, "attn_output", &lw->o)});
  }

  // gate / up / down: the GGUF keys of the projections.
  Status ffn(const std::string& layer, const char* gate, const char* up, const char* down, FeedForward* f,
             int64_t expert = -1) const {
    return matrices({matrix(layer, gate, &f->gate, expert), matrix(layer, up, &f->up, expert),
                     matrix(layer, down, &f->down, expert)});
  }

  Status moe(const std::string& layer, MoeBlock* m) const {
    const int64_t e = hp_.moe_num_experts;
    WENXIN_RETURN_IF_ERROR(small(layer, "ffn_gate_inp", &m->router));
    const Ernie45TensorName& bias = ernie45_tensor("exp_probs_b");
    const std::string bias_name = layer + "." + bias.hf;
    if (const TensorView* b = store_.find(bias_name)) {
      std::vector<int64_t> want = shape(bias);  // [1, E]; some exports drop the leading 1
      if (b->shape.size() + 1 == want.size()) want.erase(want.begin());
      WENXIN_RETURN_IF_ERROR(vector(bias_name, want, &m->score_bias));
    } else {
      m->score_bias.assign(static_cast<size_t>(e), 0.0f);
    }
    m->experts.resize(static_cast<size_t>(e));
    for (int64_t i = 0; i < e; ++i)
      WENXIN_RETURN_IF_ERROR(ffn(layer, "ffn_gate_exps", "ffn_up_exps", "ffn_down_exps", &m->experts[i], i));
    m->has_shared = hp_.moe_num_shared_experts > 0;
    if (m->has_shared)
      WENXIN_RETURN_IF_ERROR(ffn(layer, "ffn_gate_shexp", "ffn_up_shexp", "ffn_down_shexp", &m->shared));
    return Status::ok();
  }

 private:
  const Ernie45Hparams& hp_;
  const TensorStore& store_;
  bool map_tiles_;
  bool remote_code_ = false;
};

}  // namespace

Status bind_ernie45_weights(const Ernie45Hparams& hp, const TensorStore& store, WeightFormat format, bool repack,
                            ThreadPool& pool, Ernie45Weights* out) {
  const Binder b(hp, store, /*map_tiles=*/repack);
  const Ernie45TensorName& embed = ernie45_global(&Ernie45TensorName::embedding);
  const Ernie45TensorName& head = ernie45_global(&Ernie45TensorName::head);
  const Ernie45TensorName& norm = ernie45_tensor("output_norm");
  WENXIN_RETURN_IF_ERROR(b.tensor(b.named(embed.hf) + ".weight", b.shape(embed), &out->embed));
  WENXIN_RETURN_IF_ERROR(b.vector(b.named(norm.hf) + ".weight", b.shape(norm), &out->final_norm));
  // The head never has a bias, whatever use_bias says. A tied head reads the embedding, unless a
  // quantized copy of it was saved as lm_head.
  const std::vector<int64_t> head_shape = b.shape(head);
  out->lm_head.name = head.hf;
  out->lm_head.out = head_shape[0];
  out->lm_head.in = head_shape[1];
  if (store.find(head.hf + ".qweight") != nullptr) {
    WENXIN_RETURN_IF_ERROR(b.quantized(head.hf, head_shape[0], head_shape[1], &out->lm_head));
  } else if (store.find(head.hf + ".qtiles") != nullptr) {
    WENXIN_RETURN_IF_ERROR(b.tiled(head.hf, head_shape[0], head_shape[1], &out->lm_head));
  } else if (hp.tie_word_embeddings) {
    out->lm_head.weight = out->embed;
  } else {
    WENXIN_RETURN_IF_ERROR(b.tensor(head.hf + ".weight", head_shape, &out->lm_head.weight));
  }
  out->layers.resize(static_cast<size_t>(hp.num_layers));
  const std::string layers = b.named(ernie45_tensor_names().hf_layer_prefix);
  for (int64_t l = 0; l < hp.num_layers; ++l) {
    LayerWeights& lw = out->layers[l];
    const std::string base = layers + std::to_string(l);
    WENXIN_RETURN_IF_ERROR(b.small(base, "attn_norm", &lw.attn_norm));
    WENXIN_RETURN_IF_ERROR(b.small(base, "ffn_norm", &lw.ffn_norm));
    WENXIN_RETURN_IF_ERROR(b.attention(base, &lw));
    lw.is_moe = hp.is_moe_layer(l);
    if (lw.is_moe)
      WENXIN_RETURN_IF_ERROR(b.moe(base, &lw.moe));
    else
      WENXIN_RETURN_IF_ERROR(b.ffn(base, "ffn_gate", "ffn_up", "ffn_down", &lw.ffn));
  }
  // Quantize what is still float (a quantized checkpoint's matrices already are), then repack.
  auto finish = [&](Linear* l) {
    quantize_linear(l, format, pool);
    if (repack) repack_linear(l, pool, /*release_plain=*/true);
  };
  finish(&out->lm_head);
  for (LayerWeights& lw : out->layers) {
    for (Linear* l : {&lw.q, &lw.k, &lw.v, &lw.o}) finish(l);
    auto finish_ffn = [&](FeedForward& f) {
      for (Linear* l : {&f.gate, &f.up, &f.down}) finish(l);
    };
    if (!lw.is_moe) finish_ffn(lw.ffn);
    for (FeedForward& e : lw.moe.experts) finish_ffn(e);
    if (lw.moe.has_shared) finish_ffn(lw.moe.shared);
  }
  return Status::ok();
}

}  // namespace wenxin::model
