#include "train/attention_grad.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/kernels.h"

namespace wenxin::train {

namespace {

constexpr int64_t kQueryBlock = 64;

// One (sequence, query head) pair's operands, gathered contiguous; each work item owns one.
struct HeadOperands {
  int64_t len = 0, d = 0;
  std::vector<float> q, k, v;   // [len, d]
  std::vector<float> k_t, v_t;  // [d, len]
  void gather(const float* src, int64_t stride, int64_t offset, int64_t start, std::vector<float>* out) const {
    out->resize(len * d);
    for (int64_t i = 0; i < len; ++i)
      std::copy(src + (start + i) * stride + offset, src + (start + i) * stride + offset + d, out->data() + i * d);
  }
  static void transpose_into(const std::vector<float>& m, int64_t rows, int64_t cols, std::vector<float>* out) {
    out->resize(rows * cols);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) (*out)[c * rows + r] = m[r * cols + c];
  }
};

// y[rows, n] = x[rows, k] · w[n, ·]ᵀ with w's rows `w_stride` floats apart (its first k used).
void gemm(const float* x, int64_t rows, int64_t k, const float* w, int64_t w_stride, int64_t n, float* y) {
  kernels::active_kernels().gemm_float(x, rows, k, w, DType::kF32, static_cast<size_t>(w_stride) * sizeof(float), 0, n,
                                       y, n);
}

// Probabilities of queries [i0, i1) over keys [0, i1): p[i][j] = exp(scale·q_i·k_j − lse_i) for j ≤ i,
// else 0. The forward (`find_lse`) first finds each row's log-sum-exp, which the backward is given.
void probabilities(const HeadOperands& h, int64_t i0, int64_t i1, float scale, bool find_lse, float* p, float* lse) {
  const int64_t kend = i1;
  gemm(h.q.data() + i0 * h.d, i1 - i0, h.d, h.k.data(), h.d, kend, p);
  const auto& K = kernels::active_kernels();
  for (int64_t i = i0; i < i1; ++i) {
    float* row = p + (i - i0) * kend;
    if (find_lse) {
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j <= i; ++j) m = std::max(m, row[j] * scale);
      for (int64_t j = 0; j <= i; ++j) row[j] = row[j] * scale - m;
      K.exp_f32(row, row, i + 1);
      double sum = 0;
      for (int64_t j = 0; j <= i; ++j) sum += row[j];
      lse[i - i0] = m + static_cast<float>(std::log(sum));
      const float inv = static_cast<float>(1.0 / sum);  // p = e^(s − m) / Σ e^(s − m)
      for (int64_t j = 0; j <= i; ++j) row[j] *= inv;
    } else {
      const float l = lse[i - i0];
      for (int64_t j = 0; j <= i; ++j) row[j] = row[j] * scale - l;
      K.exp_f32(row, row, i + 1);
    }
    for (int64_t j = i + 1; j < kend; ++j) row[j] = 0.0f;
  }
}

}  // namespace

void attention_forward_train(const AttentionDims& dims, const std::vector<SeqSpan>& seqs, const float* q,
                             const float* k, const float* v, float* ctx, float* lse, ThreadPool& pool) {
  const int64_t d = dims.head_dim, nh = dims.heads, group = nh / dims.kv_heads;
  const int64_t qd = nh * d, kvd = dims.kv_heads * d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const int64_t items = static_cast<int64_t>(seqs.size()) * nh;
  pool.parallel_for(items, [&](int64_t b, int64_t e, int) {
    HeadOperands h;
    std::vector<float> p, o, row_lse;
    for (int64_t item = b; item < e; ++item) {
      const SeqSpan& s = seqs[item / nh];
      const int64_t head = item % nh, g = head / group;
      h.len = s.len;
      h.d = d;
      h.gather(q, qd, head * d, s.start, &h.q);
      h.gather(k, kvd, g * d, s.start, &h.k);
      h.gather(v, kvd, g * d, s.start, &h.v);
      HeadOperands::transpose_into(h.v, s.len, d, &h.v_t);
      for (int64_t i0 = 0; i0 < s.len; i0 += kQueryBlock) {
        const int64_t i1 = std::min(s.len, i0 + kQueryBlock), rows = i1 - i0;
        p.resize(rows * i1);
        row_lse.resize(rows);
        probabilities(h, i0, i1, scale, true, p.data(), row_lse.data());
        o.resize(rows * d);
        gemm(p.data(), rows, i1, h.v_t.data(), s.len, d, o.data());
        for (int64_t i = i0; i < i1; ++i) {
          std::copy(o.data() + (i - i0) * d, o.data() + (i - i0 + 1) * d, ctx + (s.start + i) * qd + head * d);
          lse[(s.start + i) * nh + head] = row_lse[i - i0];
        }
      }
    }
  });
}

void attention_backward_train(const AttentionDims& dims, const std::vector<SeqSpan>& seqs, const float* q,
                              const float* k, const float* v, const float* ctx, const float* lse, const float* dctx,
                              float* dq, float* dk, float* dv, ThreadPool& pool) {
  const int64_t d = dims.head_dim, nh = dims.heads, group = nh / dims.kv_heads;
  const int64_t qd = nh * d, kvd = dims.kv_heads * d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  int64_t T = 0;
  for (const SeqSpan& s : seqs) T = std::max(T, s.start + s.len);
  // Per query head gradients of K and V, summed over each group afterwards.
  std::vector<float> dk_heads(T * qd), dv_heads(T * qd);
  const int64_t items = static_cast<int64_t>(seqs.size()) * nh;
  pool.parallel_for(items, [&](int64_t b, int64_t e, int) {
    HeadOperands h;
    std::vector<float> dout, dout_t, q_t, out_rows, p, dp, p_t, ds_t, part, dk_h, dv_h, row_lse, delta;
    for (int64_t item = b; item < e; ++item) {
      const SeqSpan& s = seqs[item / nh];
      const int64_t head = item % nh, g = head / group, L = s.len;
      h.len = L;
      h.d = d;
      h.gather(q, qd, head * d, s.start, &h.q);
      h.gather(k, kvd, g * d, s.start, &h.k);
      h.gather(v, kvd, g * d, s.start, &h.v);
      h.gather(dctx, qd, head * d, s.start, &dout);
      h.gather(ctx, qd, head * d, s.start, &out_rows);
      HeadOperands::transpose_into(h.k, L, d, &h.k_t);
      HeadOperands::transpose_into(h.q, L, d, &q_t);
      HeadOperands::transpose_into(dout, L, d, &dout_t);
      delta.resize(L);  // D_i = dO_i · O_i
      for (int64_t i = 0; i < L; ++i) {
        double acc = 0;
        for (int64_t c = 0; c < d; ++c) acc += static_cast<double>(dout[i * d + c]) * out_rows[i * d + c];
        delta[i] = static_cast<float>(acc);
      }
      dk_h.assign(L * d, 0.0f);
      dv_h.assign(L * d, 0.0f);
      for (int64_t i0 = 0; i0 < L; i0 += kQueryBlock) {
        const int64_t i1 = std::min(L, i0 + kQueryBlock), rows = i1 - i0, kend = i1;
        row_lse.resize(rows);
        for (int64_t i = i0; i < i1; ++i) row_lse[i - i0] = lse[(s.start + i) * nh + head];
        p.resize(rows * kend);
        probabilities(h, i0, i1, scale, false, p.data(), row_lse.data());
        dp.resize(rows * kend);
        gemm(dout.data() + i0 * d, rows, d, h.v.data(), d, kend, dp.data());
        for (int64_t i = 0; i < rows; ++i)  // dS = P ⊙ (dP − D), in place
          for (int64_t j = 0; j < kend; ++j) dp[i * kend + j] = p[i * kend + j] * (dp[i * kend + j] - delta[i0 + i]);
        part.resize(std::max(rows, kend) * d);
        gemm(dp.data(), rows, kend, h.k_t.data(), L, d, part.data());
        for (int64_t i = i0; i < i1; ++i) {
          float* dst = dq + (s.start + i) * qd + head * d;
          for (int64_t c = 0; c < d; ++c) dst[c] = scale * part[(i - i0) * d + c];
        }
        HeadOperands::transpose_into(dp, rows, kend, &ds_t);
        gemm(ds_t.data(), kend, rows, q_t.data() + i0, L, d, part.data());
        for (int64_t x = 0; x < kend * d; ++x) dk_h[x] += scale * part[x];
        HeadOperands::transpose_into(p, rows, kend, &p_t);
        gemm(p_t.data(), kend, rows, dout_t.data() + i0, L, d, part.data());
        for (int64_t x = 0; x < kend * d; ++x) dv_h[x] += part[x];
      }
      for (int64_t i = 0; i < L; ++i) {
        std::copy(dk_h.data() + i * d, dk_h.data() + (i + 1) * d, dk_heads.data() + (s.start + i) * qd + head * d);
        std::copy(dv_h.data() + i * d, dv_h.data() + (i + 1) * d, dv_heads.data() + (s.start + i) * qd + head * d);
      }
    }
  });
  // Rows outside every sequence (none in practice) stay zero.
  pool.parallel_for(T, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t g = 0; g < dims.kv_heads; ++g)
        for (int64_t c = 0; c < d; ++c) {
          float sk = 0, sv = 0;
          for (int64_t hh = g * group; hh < (g + 1) * group; ++hh) {
            sk += dk_heads[t * qd + hh * d + c];
            sv += dv_heads[t * qd + hh * d + c];
          }
          dk[t * kvd + g * d + c] = sk;
          dv[t * kvd + g * d + c] = sv;
        }
  });
}

}  // namespace wenxin::train
