#include "train/lm_loss.h"

#include <algorithm>
#include <cmath>

#include "kernels/kernels.h"
#include "train/layer_grad.h"
#include "train/matmul.h"
#include "train/step_timers.h"

namespace wenxin::train {

void lm_loss(const model::Linear& head, const std::vector<float>& final_norm, float eps, const float* h, int64_t hidden,
             const LossRows& rows, float scale, float* dh, std::vector<double>* seq_loss, ThreadPool& pool) {
  const auto& K = kernels::active_kernels();
  constexpr int64_t kChunk = 256;  // 256 × vocab floats of logits at a time
  const int64_t V = head.out, n = static_cast<int64_t>(rows.row.size());
  // Reused: no fresh pages every chunk and step. (The pool's lambdas see the caller's buffers through
  // references.)
  thread_local std::vector<float> t_x, t_y, t_logits, t_dy, t_dx;
  std::vector<float>& x = t_x;
  std::vector<float>& y = t_y;
  std::vector<float>& logits = t_logits;
  std::vector<float>& dy = t_dy;
  std::vector<float>& dx = t_dx;
  std::vector<double> row_loss;
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t c = std::min(kChunk, n - c0);
    x.resize(c * hidden);
    for (int64_t i = 0; i < c; ++i)
      std::copy(h + rows.row[c0 + i] * hidden, h + (rows.row[c0 + i] + 1) * hidden, x.data() + i * hidden);
    y.resize(c * hidden);
    rmsnorm_rows(x.data(), final_norm.data(), c, hidden, eps, y.data(), pool);
    logits.resize(c * V);
    model::LinearInput head_in(y.data(), c, hidden);
    {
      TRAIN_PHASE("loss.head_fwd");
      linear_forward_train(head, head_in, logits.data(), pool);
    }
    row_loss.assign(c, 0.0);
    {
      TRAIN_PHASE("loss.softmax");
      // log-softmax per row; with dh, the row becomes scale · (softmax − onehot(target)).
      pool.parallel_for(
          c,
          [&](int64_t r0, int64_t r1, int) {
            thread_local std::vector<float> e;
            e.resize(V);
            for (int64_t i = r0; i < r1; ++i) {
              float* z = logits.data() + i * V;
              const int32_t target = rows.target[c0 + i];
              const float m = K.max_f32(z, V);
              const double sum = K.exp_sum_f32(z, 1.0f, m, e.data(), V);
              row_loss[i] = m + std::log(sum) - z[target];
              if (dh == nullptr) continue;
              // softmax = e^(z − m) / Σ e^(z − m)
              const float to_grad = static_cast<float>(scale / sum);
              for (int64_t j = 0; j < V; ++j) z[j] = e[j] * to_grad;
              z[target] -= scale;
            }
          },
          1, kLoopChunks);
    }
    for (int64_t i = 0; i < c; ++i) (*seq_loss)[rows.seq[c0 + i]] += row_loss[i];
    if (dh == nullptr) continue;
    dy.resize(c * hidden);
    {
      TRAIN_PHASE("loss.head_bwd");
      linear_input_grad(head, logits.data(), c, dy.data(), false, pool);
    }
    dx.resize(c * hidden);
    rmsnorm_backward(x.data(), final_norm.data(), c, hidden, eps, dy.data(), dx.data(), false, pool);
    for (int64_t i = 0; i < c; ++i) {
      float* dst = dh + rows.row[c0 + i] * hidden;
      for (int64_t j = 0; j < hidden; ++j) dst[j] += dx[i * hidden + j];
    }
  }
}

}  // namespace wenxin::train
