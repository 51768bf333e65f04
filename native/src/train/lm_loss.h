// transformers' causal-LM loss over the rows that predict a label (logits[:, :-1] against
// labels[:, 1:], labels −100 ignored): final RMSNorm, LM head, log-softmax and its gradient, in
// chunks of rows so the [rows × vocab] logits stay bounded.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "model/layers/linear.h"

namespace wenxin::train {

// Each row of the final hidden state that predicts a label, with that label and its sequence.
struct LossRows {
  std::vector<int32_t> row, target, seq;
};

// Adds each row's cross-entropy to seq_loss[seq]. With dh set, also adds scale · ∂(Σ CE)/∂h to
// dh's rows (h is the residual stream before the final norm, [T, hidden]).
void lm_loss(const model::Linear& head, const std::vector<float>& final_norm, float eps, const float* h, int64_t hidden,
             const LossRows& rows, float scale, float* dh, std::vector<double>* seq_loss, ThreadPool& pool);

}  // namespace wenxin::train
