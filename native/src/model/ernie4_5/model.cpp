#include "model/ernie4_5/model.h"

#include <string>

#include "kernels/ops.h"
#include "model/ernie4_5/gguf_tensors.h"
#include "model/ernie4_5/tensor_names.h"
#include "model/layers/attention.h"
#include "model/layers/ffn.h"
#include "model/layers/token_loop.h"

namespace wenxin::model {

Status Ernie45Model::load(const Ernie45Hparams& hp, const std::vector<std::string>& files, WeightFormat format,
                          ThreadPool& pool, std::unique_ptr<Ernie45Model>* out, bool for_saving) {
  WENXIN_RETURN_IF_ERROR(hp.validate());
  if (files.empty()) return Status(ErrorCode::kFileNotFound, "no safetensors files were given");
  auto m = std::unique_ptr<Ernie45Model>(new Ernie45Model());
  m->hp_ = hp;
  std::string gguf;  // a GGUF file's tensors are registered under their checkpoint names
  for (const auto& f : files) {
    if (f.size() > 5 && f.compare(f.size() - 5, 5, ".gguf") == 0) {
      WENXIN_RETURN_IF_ERROR(add_ernie45_gguf(f, m->hp_, &m->store_, pool));
      gguf = f;
    } else {
      WENXIN_RETURN_IF_ERROR(m->store_.add_safetensors_file(f));
    }
  }
  WENXIN_RETURN_IF_ERROR(m->store_.check_finite(pool));  // a NaN weight would poison every output silently
  const Status bound = bind_ernie45_weights(m->hp_, m->store_, format, !for_saving, pool, &m->w_);
  WENXIN_RETURN_IF_ERROR(gguf.empty() ? bound : restate_for_gguf(bound, gguf));
  WENXIN_RETURN_IF_ERROR(m->store_.check_files());  // truncated while we read it: nothing above holds
  *out = std::move(m);
  return Status::ok();
}

void Ernie45Model::for_each_linear(const std::function<void(Linear&)>& fn) {
  fn(w_.lm_head);
  auto ffn = [&](FeedForward& f) {
    fn(f.gate);
    fn(f.up);
    fn(f.down);
  };
  for (LayerWeights& lw : w_.layers) {
    for (Linear* l : {&lw.q, &lw.k, &lw.v, &lw.o}) fn(*l);
    if (!lw.is_moe) ffn(lw.ffn);
    for (FeedForward& e : lw.moe.experts) ffn(e);
    if (lw.moe.has_shared) ffn(lw.moe.shared);
  }
}

Linear* Ernie45Model::find_linear(const std::string& name) {
  Linear* found = nullptr;
  const std::string remote = remote_code_name(name);  // Linear names keep the checkpoint's spelling
  for_each_linear([&](Linear& l) {
    if (l.name == name || l.name == remote) found = &l;
  });
  return found;
}

Status Ernie45Model::validate(const Batch& batch) const {
  for (size_t i = 0; i < batch.size(); ++i) {
    const int32_t tok = batch.tokens[i];
    if (tok < 0 || tok >= hp_.vocab_size)
      return Status(ErrorCode::kTokenOutOfRange, "token id " + std::to_string(tok) + " at index " + std::to_string(i) +
                                                     " is outside the vocabulary [0, " +
                                                     std::to_string(hp_.vocab_size) + ")");
    if (batch.positions[i] < 0) return Status(ErrorCode::kInvalidArgument, "negative position");
  }
  return Status::ok();
}

void Ernie45Model::forward(const Batch& batch, StepOutput* out, ThreadPool& pool) const {
  const int64_t T = static_cast<int64_t>(batch.size());
  const int64_t H = hp_.hidden_size, V = hp_.vocab_size;
  Trace* trace = out->trace;

  std::vector<float> h(T * H), normed(T * H), delta(T * H);
  const size_t emb_row = static_cast<size_t>(H) * dtype_size(w_.embed.dtype);
  for (int64_t t = 0; t < T; ++t)
    kernels::row_to_f32(static_cast<const uint8_t*>(w_.embed.data) + batch.tokens[t] * emb_row, w_.embed.dtype, H,
                        h.data() + t * H);
  if (trace) trace->record("hidden_states.0", h.data(), h.size());

  RopeTable rope;
  rope.build(batch.positions, hp_.head_dim, hp_.rope_theta);
  const MoeRouting routing{hp_.moe_k, hp_.moe_norm_min};
  StepScratch scratch;  // the layers' buffers, for this step only

  // h_t += delta_t (unless first), then normed_t = RMSNorm(h_t): one pass over each token's row.
  const auto add_and_norm = [&](const std::vector<float>& weight, bool add) {
    for_each_token(pool, T, [&](int64_t t) {
      float* ht = h.data() + t * H;
      if (add)
        for (int64_t i = 0; i < H; ++i) ht[i] += delta[t * H + i];
      kernels::rmsnorm_f32(ht, weight.data(), H, hp_.rms_norm_eps, normed.data() + t * H);
    });
  };
  for (int64_t il = 0; il < hp_.num_layers; ++il) {
    const LayerWeights& lw = w_.layers[il];
    add_and_norm(lw.attn_norm, il > 0);  // the residual of the previous layer's MLP first
    if (trace && il > 0) trace->record("hidden_states." + std::to_string(il), h.data(), h.size());
    const AttentionShape shape{il, hp_.num_heads, hp_.num_kv_heads, hp_.head_dim};
    attention_forward(shape, {&lw.q, &lw.k, &lw.v, &lw.o}, rope, batch, normed.data(), delta.data(), scratch, pool);
    add_and_norm(lw.ffn_norm, true);
    if (lw.is_moe) {
      std::vector<float> router_logits;
      moe_forward(lw.moe, routing, normed.data(), T, H, delta.data(), trace ? &router_logits : nullptr, scratch, pool,
                  batch.adapter_ids());
      if (trace) trace->record("router_logits." + std::to_string(il), router_logits.data(), router_logits.size());
    } else {
      ffn_forward(lw.ffn, normed.data(), T, delta.data(), scratch, pool, batch.adapter_ids());
    }
  }
  add_and_norm(w_.final_norm, true);
  if (trace) trace->record("hidden_states." + std::to_string(hp_.num_layers), normed.data(), normed.size());
  if (out->final_hidden) out->final_hidden->assign(normed.begin(), normed.end());

  // The LM head runs only on the rows that asked for logits (the last token of each prompt, typically).
  std::vector<float> rows;
  int64_t n_rows = 0;
  for (int64_t t = 0; t < T; ++t) {
    if (!batch.want_logits[t]) continue;
    rows.insert(rows.end(), normed.begin() + t * H, normed.begin() + (t + 1) * H);
    ++n_rows;
  }
  out->logits.resize(n_rows * V);
  if (n_rows > 0) linear_forward(w_.lm_head, rows.data(), n_rows, out->logits.data(), pool);
}

}  // namespace wenxin::model
