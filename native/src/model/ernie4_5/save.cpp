// Saves the model with its quantized matrices, so a later load maps them instead of re-quantizing.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "core/mapped_file.h"
#include "core/thread_pool.h"
#include "formats/safetensors_writer.h"
#include "kernels/kernels.h"
#include "kernels/quant_formats.h"
#include "model/ernie4_5/model.h"
#include "model/ernie4_5/tensor_names.h"
#include "wenxin/quantize.h"

namespace wenxin::model {

namespace {

// NAME.qweight and NAME.qscale of a quantized matrix, or NAME.weight of one left in float.
void emit_linear(const Linear& l, std::vector<OutTensor>* out) {
  if (l.format == WeightFormat::kFloat) {
    out->push_back({l.name + ".weight",
                    dtype_name(l.weight.dtype),
                    {l.out, l.in},
                    l.weight.data,
                    static_cast<size_t>(l.out * l.in) * dtype_size(l.weight.dtype),
                    {}});
    return;
  }
  const int64_t row_bytes = l.format == WeightFormat::kQ4 ? kernels::q4_row_bytes(l.in) : l.in;
  out->push_back(
      {l.name + ".qweight", "U8", {l.out, row_bytes}, l.quantized.data, static_cast<size_t>(l.out * row_bytes), {}});
  if (l.format == WeightFormat::kFp8)
    out->push_back({l.name + ".qscale", "F32", {l.out}, l.quantized.row_scale, static_cast<size_t>(l.out) * 4, {}});
  else
    out->push_back({l.name + ".qscale",
                    "F16",
                    {l.out, l.in / kernels::kQBlock},
                    l.quantized.block_scale,
                    static_cast<size_t>(l.out * (l.in / kernels::kQBlock)) * 2,
                    {}});
}

// NAME.qtiles of a q4 matrix: the active kernels' tiles, repacked on `pool` when the file is written;
// the plain source's mapped pages are handed back after, so memory holds one matrix at a time.
void emit_tiles(const Linear& l, ThreadPool& pool, std::vector<OutTensor>* out) {
  const auto& K = kernels::active_kernels();
  const int64_t rows = K.pack_rows, groups = (l.out + rows - 1) / rows, nb = l.in / kernels::kQBlock;
  const int64_t bb = kernels::packed_block_bytes(K, true);
  OutTensor t{l.name + ".qtiles", "U8", {groups, nb, bb}, nullptr, static_cast<size_t>(groups * nb * bb), {}};
  t.fill = [&l, &pool, &K, rows, groups, nb, bb](uint8_t* dst) {
    pool.parallel_for(groups, [&](int64_t g0, int64_t g1, int) {
      kernels::QuantizedMatrix part = l.quantized;
      const int64_t r0 = g0 * rows, r1 = std::min(l.out, g1 * rows);
      part.n = r1 - r0;
      part.data += r0 * kernels::q4_row_bytes(l.in);
      part.block_scale += r0 * nb;
      K.repack(part, true, dst + g0 * nb * bb);
    });
    if (!l.storage) {  // mapped from a q4 checkpoint
      release_mapped_pages(l.quantized.data, static_cast<size_t>(l.out * kernels::q4_row_bytes(l.in)));
      release_mapped_pages(l.quantized.block_scale, static_cast<size_t>(l.out * nb * 2));
    }
  };
  out->push_back(std::move(t));
}

}  // namespace

Status Ernie45Model::save(const std::string& path, WeightFormat format, ThreadPool& pool, bool tiles) const {
  if (tiles && (format != WeightFormat::kQ4 || !kernels::active_kernels().interleaved_q4_tiles))
    return Status(ErrorCode::kInvalidArgument,
                  std::string("tiles are saved for q4 weights on kernels that have them; this is ") +
                      weight_format_name(format) + " on the '" + kernels::active_kernels().name + "' kernels");
  std::vector<const Linear*> linears;
  if (w_.lm_head.format != WeightFormat::kFloat) linears.push_back(&w_.lm_head);
  for (const LayerWeights& lw : w_.layers) {
    for (const Linear* l : {&lw.q, &lw.k, &lw.v, &lw.o}) linears.push_back(l);
    auto add_ffn = [&](const FeedForward& f) {
      for (const Linear* l : {&f.gate, &f.up, &f.down}) linears.push_back(l);
    };
    if (!lw.is_moe) add_ffn(lw.ffn);
    for (const FeedForward& e : lw.moe.experts) add_ffn(e);
    if (lw.moe.has_shared) add_ffn(lw.moe.shared);
  }
  std::vector<OutTensor> out;
  std::set<std::string> written;
  for (const Linear* l : linears) {
    if (tiles && l->format == WeightFormat::kQ4)
      emit_tiles(*l, pool, &out);
    else
      emit_linear(*l, &out);
    // a quantized source's own tensors of this matrix are replaced by the ones just emitted
    for (const char* suffix : {".weight", ".qweight", ".qscale", ".qtiles"}) written.insert(l->name + suffix);
  }
  // Everything else as stored: embeddings, norms, router, biases. Fused sources were split above.
  const auto fused = [](const std::string& name) {  // "….qkv_proj.weight"
    const auto& all = ernie45_tensor_names().fused;
    return std::any_of(all.begin(), all.end(),
                       [&](const Ernie45FusedName& f) { return leaf_of(module_of(name)) == f.hf; });
  };
  for (const auto& [name, t] : store_.tensors()) {
    if (written.count(name) || name.find("mtp") != std::string::npos || fused(name) ||
        (name == w_.lm_head.name + ".weight" && w_.lm_head.format != WeightFormat::kFloat))
      continue;
    out.push_back(
        {name, dtype_name(t.dtype), t.shape, t.data, static_cast<size_t>(t.numel()) * dtype_size(t.dtype), {}});
  }
  std::map<std::string, std::string> metadata{{"format", "pt"}, {"wenxin.weights", weight_format_name(format)}};
  if (tiles) metadata["wenxin.q4_tiles"] = kernels::active_kernels().name;
  WENXIN_RETURN_IF_ERROR(write_safetensors(path, out, metadata));
  const Status intact = store_.check_files();  // a source truncated while copied wrote zeros
  if (!intact.is_ok()) std::remove(path.c_str());
  return intact;
}

}  // namespace wenxin::model

namespace wenxin {

Status save_quantized(const Ernie45Hparams& hp, const std::vector<std::string>& files, WeightFormat format,
                      const std::string& out, int threads, bool tiles) {
  if (format == WeightFormat::kFloat)
    return Status(ErrorCode::kInvalidArgument, "quantize to q8, q4 or fp8 (bf16 is the stored format)");
  if (threads < 1 || threads > 1024)
    return Status(ErrorCode::kInvalidArgument, "threads must be in 1..1024, got " + std::to_string(threads));
  ThreadPool pool(threads);
  std::unique_ptr<model::Ernie45Model> m;
  WENXIN_RETURN_IF_ERROR(model::Ernie45Model::load(hp, files, format, pool, &m, /*for_saving=*/true));
  return m->save(out, format, pool, tiles);
}

}  // namespace wenxin
