#include "model/ernie4_5/weights.h"

#include <memory>
#include <string>

#include "kernels/interleaved_tiles.h"
#include "kernels/kernels.h"
#include "kernels/ops.h"
#include "model/ernie4_5/tensor_names.h"

namespace wenxin::model {

namespace {

// Checkpoints from Baidu's remote code use `ernie.` where transformers uses `model.`.
class Binder {
 public:
  // `map_tiles`: q4 matrices saved in the active kernels' tiles are used in place (else unpacked).
  Binder(const Ernie45Hparams& hp, const TensorStore& store, bool map_tiles)
      : hp_(hp), store_(store), map_tiles_(map_tiles) {
    prefix_ = store.find("model.embed_tokens.weight") == nullptr && store.find("ernie.embed_tokens.weight") != nullptr
                  ? "ernie."
                  : "model.";
  }

  const std::string& prefix() const { return prefix_; }
  // A table name ("model.norm", "model.layers.") with this checkpoint's prefix.
  std::string named(const std::string& hf) const {
    static const std::string kModel = "model.";
    return hf.rfind(kModel, 0) == 0 ? prefix_ + hf.substr(kModel.size()) : hf;
  }
  const TensorView* find(const std::string& name) const { return store_.find(name); }

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

  // Some exports fuse projections row-wise (qkv_proj; up_gate_proj = [gate; up]): split by rows.
  static Linear rows(const TensorView& fused, int64_t row_begin, int64_t row_count, int64_t in,
                     const std::string& name) {
    Linear l;
    l.name = name;
    l.out = row_count;
    l.in = in;
    l.weight = fused;
    l.weight.shape = {row_count, in};
    l.weight.data = static_cast<const uint8_t*>(fused.data) + row_begin * in * dtype_size(fused.dtype);
    return l;
  }

  // gate / up / down: the projections' module names (tensor_names.json); some exports fuse gate and
  // up into one up_gate_proj beside them.
  Status ffn(const std::string& gate, const std::string& up, const std::string& down, int64_t width,
             FeedForward* f) const {
    const int64_t h = hp_.hidden_size;
    const std::string fused_name = module_of(gate) + ".up_gate_proj.weight";
    if (store_.find(fused_name) != nullptr && store_.find(gate + ".weight") == nullptr) {
      TensorView fused;
      WENXIN_RETURN_IF_ERROR(tensor(fused_name, {2 * width, h}, &fused));
      f->gate = rows(fused, 0, width, h, gate);
      f->up = rows(fused, width, width, h, up);
    } else {
      WENXIN_RETURN_IF_ERROR(linear(gate, width, h, &f->gate));
      WENXIN_RETURN_IF_ERROR(linear(up, width, h, &f->up));
    }
    return linear(down, h, width, &f->down);
  }

  // `layer`: "model.layers.3"; the projections' names come from tensor_names.json.
  Status attention(const std::string& layer, LayerWeights* lw) const {
    const int64_t h = hp_.hidden_size, qd = hp_.q_dim(), kvd = hp_.kv_dim();
    const std::string q = layer + "." + ernie45_tensor("attn_q").hf, k = layer + "." + ernie45_tensor("attn_k").hf,
                      v = layer + "." + ernie45_tensor("attn_v").hf, o = layer + "." + ernie45_tensor("attn_output").hf;
    const std::string fused_name = module_of(q) + ".qkv_proj.weight";
    if (store_.find(fused_name) != nullptr && store_.find(q + ".weight") == nullptr) {
      TensorView fused;
      WENXIN_RETURN_IF_ERROR(tensor(fused_name, {qd + 2 * kvd, h}, &fused));
      lw->q = rows(fused, 0, qd, h, q);
      lw->k = rows(fused, qd, kvd, h, k);
      lw->v = rows(fused, qd + kvd, kvd, h, v);
    } else {
      WENXIN_RETURN_IF_ERROR(linear(q, qd, h, &lw->q));
      WENXIN_RETURN_IF_ERROR(linear(k, kvd, h, &lw->k));
      WENXIN_RETURN_IF_ERROR(linear(v, kvd, h, &lw->v));
    }
    return linear(o, h, qd, &lw->o);
  }

  // The dense MLP of `layer`.
  Status dense(const std::string& layer, FeedForward* f) const {
    const auto name = [&](const char* key) { return layer + "." + ernie45_tensor(key).hf; };
    return ffn(name("ffn_gate"), name("ffn_up"), name("ffn_down"), hp_.intermediate_size, f);
  }

  Status moe(const std::string& layer, MoeBlock* m) const {
    const int64_t h = hp_.hidden_size, e = hp_.moe_num_experts;
    const auto name = [&](const char* key) { return layer + "." + ernie45_tensor(key).hf; };
    WENXIN_RETURN_IF_ERROR(vector(name("ffn_gate_inp") + ".weight", {e, h}, &m->router));
    const std::string bias_name = name("exp_probs_b");
    if (const TensorView* b = store_.find(bias_name)) {
      WENXIN_RETURN_IF_ERROR(vector(
          bias_name, b->shape.size() == 1 ? std::vector<int64_t>{e} : std::vector<int64_t>{1, e}, &m->score_bias));
    } else {
      m->score_bias.assign(static_cast<size_t>(e), 0.0f);
    }
    m->experts.resize(static_cast<size_t>(e));
    for (int64_t i = 0; i < e; ++i) {
      const auto expert = [&](const char* key) {
        std::string n = name(key);
        return n.replace(n.find('*'), 1, std::to_string(i));
      };
      WENXIN_RETURN_IF_ERROR(ffn(expert("ffn_gate_exps"), expert("ffn_up_exps"), expert("ffn_down_exps"),
                                 hp_.moe_intermediate_size, &m->experts[i]));
    }
    m->has_shared = hp_.moe_num_shared_experts > 0;
    if (m->has_shared)
      WENXIN_RETURN_IF_ERROR(ffn(name("ffn_gate_shexp"), name("ffn_up_shexp"), name("ffn_down_shexp"),
                                 hp_.moe_intermediate_size * hp_.moe_num_shared_experts, &m->shared));
    return Status::ok();
  }

 private:
  const Ernie45Hparams& hp_;
  const TensorStore& store_;
  bool map_tiles_;
  std::string prefix_;
};

}  // namespace

Status bind_ernie45_weights(const Ernie45Hparams& hp, const TensorStore& store, WeightFormat format, bool repack,
                            ThreadPool& pool, Ernie45Weights* out) {
  const Binder b(hp, store, /*map_tiles=*/repack);
  const int64_t h = hp.hidden_size;
  const Ernie45TensorName& head = ernie45_global(&Ernie45TensorName::head);
  WENXIN_RETURN_IF_ERROR(
      b.tensor(b.named(ernie45_global(&Ernie45TensorName::embedding).hf) + ".weight", {hp.vocab_size, h}, &out->embed));
  WENXIN_RETURN_IF_ERROR(b.vector(b.named(ernie45_tensor("output_norm").hf) + ".weight", {h}, &out->final_norm));
  // The head never has a bias, whatever use_bias says. A tied head reads the embedding, unless a
  // quantized copy of it was saved as lm_head.
  out->lm_head.name = head.hf;
  out->lm_head.out = hp.vocab_size;
  out->lm_head.in = h;
  if (store.find(head.hf + ".qweight") != nullptr) {
    WENXIN_RETURN_IF_ERROR(b.quantized(head.hf, hp.vocab_size, h, &out->lm_head));
  } else if (store.find(head.hf + ".qtiles") != nullptr) {
    WENXIN_RETURN_IF_ERROR(b.tiled(head.hf, hp.vocab_size, h, &out->lm_head));
  } else if (hp.tie_word_embeddings) {
    out->lm_head.weight = out->embed;
  } else {
    WENXIN_RETURN_IF_ERROR(b.tensor(head.hf + ".weight", {hp.vocab_size, h}, &out->lm_head.weight));
  }
  out->layers.resize(static_cast<size_t>(hp.num_layers));
  const std::string layers = b.named(ernie45_tensor_names().hf_layer_prefix);
  for (int64_t l = 0; l < hp.num_layers; ++l) {
    LayerWeights& lw = out->layers[l];
    const std::string base = layers + std::to_string(l);
    WENXIN_RETURN_IF_ERROR(b.vector(base + "." + ernie45_tensor("attn_norm").hf + ".weight", {h}, &lw.attn_norm));
    WENXIN_RETURN_IF_ERROR(b.vector(base + "." + ernie45_tensor("ffn_norm").hf + ".weight", {h}, &lw.ffn_norm));
    WENXIN_RETURN_IF_ERROR(b.attention(base, &lw));
    lw.is_moe = hp.is_moe_layer(l);
    if (lw.is_moe)
      WENXIN_RETURN_IF_ERROR(b.moe(base, &lw.moe));
    else
      WENXIN_RETURN_IF_ERROR(b.dense(base, &lw.ffn));
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
