// Saves the model with its quantized matrices, so a later load maps them instead of re-quantizing.
#include <cstdio>
#include <set>

#include "core/thread_pool.h"
#include "formats/safetensors_writer.h"
#include "kernels/quant_formats.h"
#include "model/ernie4_5/model.h"
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
                    static_cast<size_t>(l.out * l.in) * dtype_size(l.weight.dtype)});
    return;
  }
  const int64_t row_bytes = l.format == WeightFormat::kQ4 ? kernels::q4_row_bytes(l.in) : l.in;
  out->push_back(
      {l.name + ".qweight", "U8", {l.out, row_bytes}, l.quantized.data, static_cast<size_t>(l.out * row_bytes)});
  if (l.format == WeightFormat::kFp8)
    out->push_back({l.name + ".qscale", "F32", {l.out}, l.quantized.row_scale, static_cast<size_t>(l.out) * 4});
  else
    out->push_back({l.name + ".qscale",
                    "F16",
                    {l.out, l.in / kernels::kQBlock},
                    l.quantized.block_scale,
                    static_cast<size_t>(l.out * (l.in / kernels::kQBlock)) * 2});
}

}  // namespace

Status Ernie45Model::save(const std::string& path, WeightFormat format) const {
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
    emit_linear(*l, &out);
    written.insert(l->name + ".weight");
  }
  // Everything else as stored: embeddings, norms, router, biases. Fused sources were split above.
  for (const auto& [name, t] : store_.tensors()) {
    if (written.count(name) || name.find("mtp") != std::string::npos || name.find("qkv_proj.") != std::string::npos ||
        name.find("up_gate_proj.") != std::string::npos ||
        (name == "lm_head.weight" && w_.lm_head.format != WeightFormat::kFloat))
      continue;
    out.push_back({name, dtype_name(t.dtype), t.shape, t.data, static_cast<size_t>(t.numel()) * dtype_size(t.dtype)});
  }
  WENXIN_RETURN_IF_ERROR(
      write_safetensors(path, out, {{"format", "pt"}, {"wenxin.weights", weight_format_name(format)}}));
  const Status intact = store_.check_files();  // a source truncated while copied wrote zeros
  if (!intact.is_ok()) std::remove(path.c_str());
  return intact;
}

}  // namespace wenxin::model

namespace wenxin {

Status save_quantized(const Ernie45Hparams& hp, const std::vector<std::string>& files, WeightFormat format,
                      const std::string& out, int threads) {
  if (format == WeightFormat::kFloat)
    return Status(ErrorCode::kInvalidArgument, "quantize to q8, q4 or fp8 (bf16 is the stored format)");
  if (threads < 1 || threads > 1024)
    return Status(ErrorCode::kInvalidArgument, "threads must be in 1..1024, got " + std::to_string(threads));
  ThreadPool pool(threads);
  std::unique_ptr<model::Ernie45Model> m;
  WENXIN_RETURN_IF_ERROR(model::Ernie45Model::load(hp, files, format, pool, &m, /*for_saving=*/true));
  return m->save(out, format);
}

}  // namespace wenxin
