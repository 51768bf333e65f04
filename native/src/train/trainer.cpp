#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "kernels/ops.h"
#include "model/ernie4_5/tensor_names.h"
#include "model/layers/attention.h"
#include "train/matmul.h"
#include "train/step_timers.h"

namespace wenxin::train {

namespace {

Status shape_error(const LoraSpec& s, const char* which, size_t got, int64_t rows, int64_t cols) {
  return Status(ErrorCode::kShapeMismatch, s.name + "." + which + " has " + std::to_string(got) +
                                               " values, expected [" + std::to_string(rows) + ", " +
                                               std::to_string(cols) + "]");
}

// "model.layers.1.mlp.experts.0.gate_proj" → "model.layers.1.mlp.experts"
std::string experts_prefix(const model::MoeBlock& m) {
  const std::string& n = m.experts.front().gate.name;
  return n.substr(0, n.rfind(".0." + model::leaf_of(n)));
}

// The stacked expert parameters (tensor_names.json's expertParameters), "mlp.experts.gate_up_proj and
// mlp.experts.down_proj", for messages.
std::string expert_parameter_names() {
  const model::Ernie45TensorNames& names = model::ernie45_tensor_names();
  std::string out;
  for (const model::Ernie45FusedName& p : names.expert_parameters)
    out += (out.empty() ? "" : " / ") + names.expert_module + "." + p.hf;
  return out;
}

}  // namespace

Status LoraTrainer::create(const model::Ernie45Model& model, TrainerOptions options,
                           std::unique_ptr<LoraTrainer>* out) {
  auto t = std::unique_ptr<LoraTrainer>(new LoraTrainer(model));
  WENXIN_RETURN_IF_ERROR(t->bind(std::move(options)));
  *out = std::move(t);
  return Status::ok();
}

Status LoraTrainer::bind(TrainerOptions options) {
  const Ernie45Hparams& hp = model_.hparams();
  const model::Ernie45Weights& w = model_.weights();
  checkpointing_ = options.checkpointing;
  activation_budget_ = std::max<int64_t>(0, options.activation_budget_bytes);
  compute_bf16_ = options.compute_bf16;
  if (options.params.empty()) return Status(ErrorCode::kInvalidArgument, "no LoRA parameters to train");
  std::map<std::string, size_t> by_name;
  params_.resize(options.params.size());
  for (size_t i = 0; i < options.params.size(); ++i) {
    LoraSpec& s = options.params[i];
    if (!by_name.emplace(s.name, i).second)
      return Status(ErrorCode::kInvalidArgument, "LoRA parameter '" + s.name + "' is given twice");
    if (s.rank < 1) return Status(ErrorCode::kInvalidArgument, s.name + ": rank must be >= 1");
    if (!(s.dropout >= 0.0f && s.dropout < 1.0f))
      return Status(ErrorCode::kInvalidArgument, s.name + ": dropout must be in [0, 1)");
    LoraParam& p = params_[i];
    p.name = s.name;
    p.rank = s.rank;
    p.scaling = s.scaling;
    p.dropout = s.dropout;
    p.stream = i;
  }
  std::vector<bool> used(params_.size(), false);
  // Binds the parameter named `name`, if any, as a [rank·experts, in] × [out, rank·experts] pair.
  auto take = [&](const std::string& name, int64_t in, int64_t out, int64_t experts, LoraParam** slot) -> Status {
    const auto it = by_name.find(name);
    if (it == by_name.end()) return Status::ok();
    LoraSpec& s = options.params[it->second];
    LoraParam& p = params_[it->second];
    p.in = in;
    p.out = out;
    p.experts = experts;
    if (static_cast<int64_t>(s.a.size()) != p.a_size())
      return shape_error(s, "lora_A", s.a.size(), experts * s.rank, in);
    if (static_cast<int64_t>(s.b.size()) != p.b_size())
      return shape_error(s, "lora_B", s.b.size(), out, experts * s.rank);
    p.a = std::move(s.a);
    p.b = std::move(s.b);
    p.grad_a.assign(p.a.size(), 0.0f);
    p.grad_b.assign(p.b.size(), 0.0f);
    p.m_a.assign(p.a.size(), 0.0f);
    p.v_a.assign(p.a.size(), 0.0f);
    p.m_b.assign(p.b.size(), 0.0f);
    p.v_b.assign(p.b.size(), 0.0f);
    used[it->second] = true;
    *slot = &p;
    return Status::ok();
  };
  auto linear = [&](const model::Linear& l, LoraView* view) -> Status {
    LoraParam* p = nullptr;
    WENXIN_RETURN_IF_ERROR(take(l.name, l.in, l.out, 1, &p));
    *view = plain_view(p);
    return Status::ok();
  };
  auto ffn = [&](const model::FeedForward& f, FfnLora* view) -> Status {
    WENXIN_RETURN_IF_ERROR(linear(f.gate, &view->gate));
    WENXIN_RETURN_IF_ERROR(linear(f.up, &view->up));
    return linear(f.down, &view->down);
  };
  layers_.assign(hp.num_layers, {});
  lowest_layer_ = hp.num_layers;
  for (int64_t l = 0; l < hp.num_layers; ++l) {
    const model::LayerWeights& lw = w.layers[l];
    LayerLora& ll = layers_[l];
    WENXIN_RETURN_IF_ERROR(linear(lw.q, &ll.q));
    WENXIN_RETURN_IF_ERROR(linear(lw.k, &ll.k));
    WENXIN_RETURN_IF_ERROR(linear(lw.v, &ll.v));
    WENXIN_RETURN_IF_ERROR(linear(lw.o, &ll.o));
    if (!lw.is_moe) {
      WENXIN_RETURN_IF_ERROR(ffn(lw.ffn, &ll.mlp));
    } else {
      if (lw.moe.has_shared) WENXIN_RETURN_IF_ERROR(ffn(lw.moe.shared, &ll.moe.shared));
      const std::string prefix = experts_prefix(lw.moe);
      const int64_t E = static_cast<int64_t>(lw.moe.experts.size()), width = hp.moe_intermediate_size;
      const model::Ernie45FusedName& gate_up =
          model::ernie45_expert_parameter_of(model::leaf_of(lw.moe.experts[0].gate.name));
      const model::Ernie45FusedName& down =
          model::ernie45_expert_parameter_of(model::leaf_of(lw.moe.experts[0].down.name));
      WENXIN_RETURN_IF_ERROR(take(prefix + "." + gate_up.hf, hp.hidden_size, 2 * width, E, &ll.moe.experts_gate_up));
      WENXIN_RETURN_IF_ERROR(take(prefix + "." + down.hf, width, hp.hidden_size, E, &ll.moe.experts_down));
    }
  }
  for (size_t i = 0; i < params_.size(); ++i)
    if (!used[i])
      return Status(ErrorCode::kInvalidArgument,
                    "LoRA parameter '" + params_[i].name +
                        "' names no trainable place of this model (q/k/v/o_proj, the dense and shared-expert "
                        "gate/up/down_proj, and the routed experts' fused " +
                        expert_parameter_names() + ")");
  // The lowest layer with a trainable parameter: the backward stops there.
  for (int64_t l = hp.num_layers - 1; l >= 0; --l) {
    const LayerLora& ll = layers_[l];
    const FfnLora& f = ll.mlp;
    const FfnLora& s = ll.moe.shared;
    const bool any = ll.q.active() || ll.k.active() || ll.v.active() || ll.o.active() || f.gate.active() ||
                     f.up.active() || f.down.active() || s.gate.active() || s.up.active() || s.down.active() ||
                     ll.moe.experts_gate_up || ll.moe.experts_down;
    if (any) lowest_layer_ = l;
  }
  return Status::ok();
}

void LoraTrainer::keep_panels(ThreadPool& pool) {
  if (panels_kept_) return;
  panels_kept_ = true;
  const model::Ernie45Weights& w = model_.weights();
  kept_.add(w.lm_head, false, compute_bf16_, pool);
  const auto packs_forward = [&](const model::Linear& lin) {
    return lin.format == WeightFormat::kFloat && !reads_weight_rows(lin, true, compute_bf16_);
  };
  if (packs_forward(w.lm_head)) kept_.add(w.lm_head, true, compute_bf16_, pool);
  // The dense layers' weights too, while their panels fit kLayerPanelBytes: the input gradients'
  // panels (any format) of the layers the backward reaches, and the forward's of float weights (a
  // quantized forward keeps its int8 products; a forward that reads the weight's rows needs none). Packed once instead
  // of in every product of every step.
  int64_t bytes = 0;
  const int64_t element_bytes = compute_bf16_ ? 2 : 4;
  const auto keep = [&](const model::Linear& lin, bool transposed) {
    if (lin.in <= 0 || lin.out <= 0) return;
    const int64_t need = element_bytes * lin.in * lin.out;
    if (bytes + need > kLayerPanelBytes) return;
    kept_.add(lin, transposed, compute_bf16_, pool);
    bytes += need;
  };
  for (int64_t l = 0; l < static_cast<int64_t>(w.layers.size()); ++l) {
    const model::LayerWeights& lw = w.layers[l];
    std::vector<const model::Linear*> dense = {&lw.q, &lw.k, &lw.v, &lw.o};
    if (!lw.is_moe) dense.insert(dense.end(), {&lw.ffn.gate, &lw.ffn.up, &lw.ffn.down});
    for (const model::Linear* lin : dense) {
      if (packs_forward(*lin)) keep(*lin, true);
      if (l >= lowest_layer_) keep(*lin, false);
    }
  }
}

Status LoraTrainer::prepare(const TrainBatch& batch, uint64_t seed, BatchContext* ctx, LossRows* rows,
                            std::vector<float>* h) const {
  const Ernie45Hparams& hp = model_.hparams();
  const int64_t T = static_cast<int64_t>(batch.tokens.size());
  if (T == 0 || batch.lengths.empty()) return Status(ErrorCode::kInvalidArgument, "the batch is empty");
  if (static_cast<int64_t>(batch.labels.size()) != T)
    return Status(ErrorCode::kInvalidArgument, "the batch has " + std::to_string(T) + " tokens but " +
                                                   std::to_string(batch.labels.size()) + " labels");
  std::vector<int32_t> positions(T);
  int64_t start = 0;
  for (size_t s = 0; s < batch.lengths.size(); ++s) {
    const int64_t len = batch.lengths[s];
    if (len < 1 || start + len > T)
      return Status(ErrorCode::kInvalidArgument, "sequence " + std::to_string(s) + " has length " +
                                                     std::to_string(len) + ", which the batch's tokens do not hold");
    ctx->seqs.push_back(SeqSpan{start, len});
    for (int64_t i = 0; i < len; ++i) {
      const int64_t t = start + i;
      positions[t] = static_cast<int32_t>(i);
      if (batch.tokens[t] < 0 || batch.tokens[t] >= hp.vocab_size)
        return Status(ErrorCode::kTokenOutOfRange, "token id " + std::to_string(batch.tokens[t]) + " at index " +
                                                       std::to_string(t) + " is outside the vocabulary [0, " +
                                                       std::to_string(hp.vocab_size) + ")");
      const int32_t label = batch.labels[t];
      if (label != -100 && (label < 0 || label >= hp.vocab_size))
        return Status(ErrorCode::kTokenOutOfRange, "label " + std::to_string(label) + " at index " + std::to_string(t) +
                                                       " is neither -100 nor in the vocabulary");
      // logits[i] predict labels[i + 1] (transformers shifts inside each sequence).
      if (i >= 1 && label != -100) {
        rows->row.push_back(static_cast<int32_t>(t - 1));
        rows->target.push_back(label);
        rows->seq.push_back(static_cast<int32_t>(s));
      }
    }
    start += len;
  }
  if (start != T)
    return Status(ErrorCode::kInvalidArgument, "the sequence lengths add up to " + std::to_string(start) +
                                                   ", not the batch's " + std::to_string(T) + " tokens");
  ctx->tokens = T;
  model::RopeTable rope;
  rope.build(positions, hp.head_dim, hp.rope_theta);
  ctx->cos = std::move(rope.cos);
  ctx->sin = std::move(rope.sin);
  ctx->neg_sin.resize(ctx->sin.size());
  for (size_t i = 0; i < ctx->sin.size(); ++i) ctx->neg_sin[i] = -ctx->sin[i];
  ctx->dropout.seed = seed;
  const TensorView& embed = model_.weights().embed;
  const int64_t H = hp.hidden_size;
  const size_t row_bytes = static_cast<size_t>(H) * dtype_size(embed.dtype);
  h->resize(T * H);
  for (int64_t t = 0; t < T; ++t)
    kernels::row_to_f32(static_cast<const uint8_t*>(embed.data) + batch.tokens[t] * row_bytes, embed.dtype, H,
                        h->data() + t * H);
  return Status::ok();
}

namespace {

void count_labels(const LossRows& rows, size_t sequences, BatchLoss* loss) {
  loss->seq_loss.assign(sequences, 0.0);
  loss->seq_labels.assign(sequences, 0);
  for (int32_t s : rows.seq) loss->seq_labels[s]++;
  loss->labels = static_cast<int64_t>(rows.row.size());
}

void sum_losses(BatchLoss* loss) {
  loss->loss_sum = 0;
  for (double l : loss->seq_loss) loss->loss_sum += l;
}

}  // namespace

Status LoraTrainer::accumulate(const TrainBatch& batch, float scale, uint64_t seed, BatchLoss* loss, ThreadPool& pool) {
  const Ernie45Hparams& hp = model_.hparams();
  const model::Ernie45Weights& w = model_.weights();
  BatchContext ctx;
  LossRows rows;
  std::vector<float> h0;
  WENXIN_RETURN_IF_ERROR(prepare(batch, seed, &ctx, &rows, &h0));
  count_labels(rows, ctx.seqs.size(), loss);
  if (rows.row.empty()) return Status(ErrorCode::kInvalidArgument, "the batch has no labelled token to learn from");
  const int64_t T = ctx.tokens, H = hp.hidden_size, L = hp.num_layers;
  const Bf16ComputeScope compute(compute_bf16_);
  keep_panels(pool);
  const KeptPanelsScope panels(&kept_);

  // Forward: keep each layer's input, and the intermediates of the layers the backward reaches
  // while they fit the budget (without checkpointing, all of them).
  // Their storage is the trainer's, reused from step to step: freed and allocated again, it would be
  // fresh pages every step, each cleared by the kernel (a tenth of a step's CPU time).
  std::vector<std::vector<float>>& inputs = inputs_;
  inputs.resize(L + 1);
  inputs[0] = std::move(h0);
  std::vector<LayerActs>& kept = acts_;
  kept.resize(L);
  std::vector<bool> is_kept(L, false);
  int64_t kept_bytes = 0;
  StepTimer forward_timer("step.forward");
  for (int64_t l = 0; l < L; ++l) {
    inputs[l + 1].resize(T * H);
    const bool wanted = l >= lowest_layer_;
    layer_forward_train(w.layers[l], hp, layers_[l], ctx, inputs[l].data(), inputs[l + 1].data(),
                        wanted ? &kept[l] : nullptr, pool);
    if (!wanted) continue;
    const int64_t bytes = acts_bytes(kept[l]);
    if (!checkpointing_ || kept_bytes + bytes <= activation_budget_) {
      kept_bytes += bytes;
      is_kept[l] = true;
    } else {
      kept[l] = {};
    }
  }
  forward_timer.stop();
  std::vector<float>& dh = dh_;
  std::vector<float>& dx = dx_;
  dh.assign(T * H, 0.0f);
  dx.resize(T * H);
  StepTimer loss_timer("step.loss");
  lm_loss(w.lm_head, w.final_norm, hp.rms_norm_eps, inputs[L].data(), H, rows, scale, dh.data(), &loss->seq_loss, pool);
  sum_losses(loss);
  loss_timer.stop();

  // Backward, a layer at a time, down to the lowest trainable one.
  TRAIN_PHASE("step.backward");
  for (int64_t l = L - 1; l >= lowest_layer_; --l) {
    LayerActs* acts = &kept[l];
    if (!is_kept[l]) {
      scratch_.resize(T * H);
      layer_forward_train(w.layers[l], hp, layers_[l], ctx, inputs[l].data(), scratch_.data(), &recomputed_, pool);
      acts = &recomputed_;
    }
    layer_backward_train(w.layers[l], hp, layers_[l], ctx, inputs[l].data(), *acts, dh.data(),
                         l > lowest_layer_ ? dx.data() : nullptr, pool);
    std::swap(dh, dx);
  }
  return Status::ok();
}

Status LoraTrainer::evaluate(const TrainBatch& batch, BatchLoss* loss, ThreadPool& pool) {
  const Ernie45Hparams& hp = model_.hparams();
  const model::Ernie45Weights& w = model_.weights();
  BatchContext ctx;
  LossRows rows;
  std::vector<float> h;
  WENXIN_RETURN_IF_ERROR(prepare(batch, 0, &ctx, &rows, &h));
  ctx.dropout.enabled = false;
  count_labels(rows, ctx.seqs.size(), loss);
  const Bf16ComputeScope compute(compute_bf16_);
  keep_panels(pool);
  const KeptPanelsScope panels(&kept_);
  std::vector<float> next(h.size());
  for (int64_t l = 0; l < hp.num_layers; ++l) {
    layer_forward_train(w.layers[l], hp, layers_[l], ctx, h.data(), next.data(), nullptr, pool);
    std::swap(h, next);
  }
  lm_loss(w.lm_head, w.final_norm, hp.rms_norm_eps, h.data(), hp.hidden_size, rows, 0.0f, nullptr, &loss->seq_loss,
          pool);
  sum_losses(loss);
  return Status::ok();
}

double LoraTrainer::grad_norm() const {
  double ss = 0;
  for (const LoraParam& p : params_) {
    for (float g : p.grad_a) ss += static_cast<double>(g) * g;
    for (float g : p.grad_b) ss += static_cast<double>(g) * g;
  }
  return std::sqrt(ss);
}

void LoraTrainer::zero_grad() {
  for (LoraParam& p : params_) {
    std::fill(p.grad_a.begin(), p.grad_a.end(), 0.0f);
    std::fill(p.grad_b.begin(), p.grad_b.end(), 0.0f);
  }
}

double LoraTrainer::apply(const AdamWOptions& opt) {
  TRAIN_PHASE("step.optimizer");
  const double norm = grad_norm();
  // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6), never up.
  float clip = 1.0f;
  if (opt.max_grad_norm > 0) clip = static_cast<float>(std::min(1.0, opt.max_grad_norm / (norm + 1e-6)));
  ++step_;
  // torch.optim.AdamW: decoupled weight decay, then the bias-corrected Adam update.
  const double bc1 = 1.0 - std::pow(opt.beta1, static_cast<double>(step_));
  const double bc2 = 1.0 - std::pow(opt.beta2, static_cast<double>(step_));
  const float decay = static_cast<float>(1.0 - opt.lr * opt.weight_decay);
  const float b1 = static_cast<float>(opt.beta1), b2 = static_cast<float>(opt.beta2);
  const float step_size = static_cast<float>(opt.lr / bc1), bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  const float eps = static_cast<float>(opt.eps);
  auto update = [&](std::vector<float>& p, std::vector<float>& g, std::vector<float>& m, std::vector<float>& v) {
    for (size_t i = 0; i < p.size(); ++i) {
      const float gi = g[i] * clip;
      p[i] *= decay;
      m[i] += (gi - m[i]) * (1.0f - b1);
      v[i] = v[i] * b2 + (1.0f - b2) * gi * gi;
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps);
    }
  };
  for (LoraParam& p : params_) {
    update(p.a, p.grad_a, p.m_a, p.v_a);
    update(p.b, p.grad_b, p.m_b, p.v_b);
  }
  step_timers_step_done();
  return norm;
}

std::pair<std::vector<float>*, std::vector<float>*> LoraTrainer::tensors(size_t i, TrainerTensors kind) {
  LoraParam& p = params_[i];
  switch (kind) {
    case TrainerTensors::kGrads: return {&p.grad_a, &p.grad_b};
    case TrainerTensors::kExpAvg: return {&p.m_a, &p.m_b};
    case TrainerTensors::kExpAvgSq: return {&p.v_a, &p.v_b};
    default: return {&p.a, &p.b};
  }
}

}  // namespace wenxin::train
