#include "train/attention_grad.h"

#include <algorithm>
#include <cmath>

#include "core/aligned_vector.h"
#include "core/scratch.h"
#include "kernels/kernels.h"
#include "train/matmul.h"
#include "train/step_timers.h"

namespace wenxin::train {

namespace {

constexpr int64_t kQueryBlock = 64;

// Chunks per thread for a loop over (sequence, head) items: one item each, so a thread the machine
// deschedules holds up one item, not half of them.
int item_chunks(int64_t items) { return static_cast<int>(std::clamp<int64_t>(items, 1, 0xFFFF)); }

// Rows [i0, i1) of scores s[i][j] = q_i·k_j over keys [0, i1) → probabilities p[i][j] = exp(scale·s − lse_i)
// for j ≤ i, else 0, in place. The forward (`find_lse`) first finds each row's log-sum-exp, which the
// backward is given.
void softmax_rows(int64_t i0, int64_t i1, float scale, bool find_lse, float* p, float* lse) {
  const int64_t kend = i1;
  const auto& K = kernels::active_kernels();
  for (int64_t i = i0; i < i1; ++i) {
    float* row = p + (i - i0) * kend;
    if (find_lse) {
      const float m = scale * K.max_f32(row, i + 1);  // scale > 0
      const double sum = K.exp_sum_f32(row, scale, m, row, i + 1);
      lse[i - i0] = m + static_cast<float>(std::log(sum));
      const float inv = static_cast<float>(1.0 / sum);  // p = e^(s − m) / Σ e^(s − m)
      for (int64_t j = 0; j <= i; ++j) row[j] *= inv;
    } else {
      K.exp_sum_f32(row, scale, lse[i - i0], row, i + 1);
    }
    for (int64_t j = i + 1; j < kend; ++j) row[j] = 0.0f;
  }
}

// D_i = dO_i · O_i for one head's L rows (`stride` floats apart).
void output_dots(const float* dout, const float* out, int64_t stride, int64_t L, int64_t d, std::vector<float>* delta) {
  const auto& K = kernels::active_kernels();
  delta->resize(L);
  for (int64_t i = 0; i < L; ++i) (*delta)[i] = K.dot_f32(dout + i * stride, out + i * stride, d);
}

// dS = P ⊙ (dP − D) in place, for a block's rows × kend (`delta` at the block's first row).
void softmax_grad(const float* p, const float* delta, int64_t rows, int64_t kend, float* dp) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < kend; ++j) dp[i * kend + j] = p[i * kend + j] * (dp[i * kend + j] - delta[i]);
}

// dst's rows (`stride` floats apart) = scale · src's (rows × d, contiguous).
void store_scaled(const float* src, int64_t rows, int64_t d, float scale, float* dst, int64_t stride) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t c = 0; c < d; ++c) dst[i * stride + c] = scale * src[i * d + c];
}

// The bf16 path (Bf16ComputeScope): every per-head product on gemm_panels_bf16 (vdpbf16ps on AVX-512
// BF16), its operands rounded to bf16 once, float32 sums; the softmax and its gradient in float32.
constexpr int64_t kPanel = kernels::kGemmPanel;

inline int64_t even(int64_t n) { return n + n % 2; }

// out[r][c] = bf16(src[r * ld + c]) for r < rows, c < cols, each row `ldo` wide (padding zero).
// A query block's output rows (and their log-sum-exp) into ctx [T, heads·d] and lse [T, heads].
void store_block(const float* o, const float* row_lse, int64_t t0, int64_t rows, int64_t head, int64_t d, int64_t nh,
                 float* ctx, float* lse) {
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(o + r * d, o + (r + 1) * d, ctx + (t0 + r) * nh * d + head * d);
    lse[(t0 + r) * nh + head] = row_lse[r];
  }
}

void round_rows(const float* src, int64_t ld, int64_t rows, int64_t cols, uint16_t* out, int64_t ldo) {
  const auto& K = kernels::active_kernels();
  for (int64_t r = 0; r < rows; ++r) {
    uint16_t* dst = out + r * ldo;
    K.round_bf16(src + r * ld, dst, cols);
    std::fill(dst + cols, dst + ldo, uint16_t{0});
  }
}

// Panels of B = Mᵀ (B[p][j] = M[j][p]) for M bf16 [n][ld] (ld even): ceil(n / 32) panels of ld / 2
// pairs, the pair of row j's elements 2q, 2q + 1 at [j / 32][q][j % 32], columns past n zero.
void transposed_panels(const uint16_t* m, int64_t n, int64_t ld, aligned_vector<uint32_t>* out) {
  const int64_t depth = ld / 2;
  out->assign((n + kPanel - 1) / kPanel * kPanel * depth, 0u);
  for (int64_t j = 0; j < n; ++j) {
    uint32_t* dst = out->data() + (j / kPanel) * kPanel * depth + j % kPanel;
    const uint16_t* src = m + j * ld;
    for (int64_t q = 0; q < depth; ++q) dst[q * kPanel] = pair_of(src[2 * q], src[2 * q + 1]);
  }
}

// Panels of B = M (B[p][j] = M[p][j]) for M bf16 [rows][ld], its first `cols` columns: ceil(cols / 32)
// panels of ceil(rows / 2) pairs, the pair of rows 2q, 2q + 1 (the one past `rows` zero) at [q][j].
void pack_row_pairs(const uint16_t* m, int64_t rows, int64_t ld, int64_t cols, aligned_vector<uint32_t>* out) {
  const int64_t kp = (rows + 1) / 2, panels = (cols + kPanel - 1) / kPanel;
  out->assign(panels * kPanel * kp, 0u);
  // A panel's row of pairs at a time: a loop over contiguous columns, which the compiler vectorises.
  for (int64_t pn = 0; pn < panels; ++pn) {
    const int64_t c0 = pn * kPanel, width = std::min(kPanel, cols - c0);
    for (int64_t q = 0; q < kp; ++q) {
      const uint16_t* r0 = m + 2 * q * ld + c0;
      uint32_t* dst = out->data() + (pn * kp + q) * kPanel;
      if (2 * q + 1 < rows) {
        const uint16_t* r1 = r0 + ld;
        for (int64_t j = 0; j < width; ++j) dst[j] = pair_of(r0[j], r1[j]);
      } else {
        for (int64_t j = 0; j < width; ++j) dst[j] = r0[j];
      }
    }
  }
}

// B's panels over its entries [p0, p0 + k) (rows of B, or bf16 pairs of them; `depth` a panel), n columns:
// the panels themselves when that is all of them, else a window of each, copied out whole (the kernels
// step panels by the depth they are given): one call over all of n, where a call a panel would read
// (and, bf16 on AVX2, widen) `a` again for each.
template <class T>
const T* panels_window(const aligned_vector<T>& b, int64_t depth, int64_t p0, int64_t k, int64_t n) {
  if (p0 == 0 && k == depth) return b.data();
  thread_local aligned_vector<T> window;
  const int64_t panels = (n + kPanel - 1) / kPanel;
  scratch(window, panels * kPanel * k);
  for (int64_t pn = 0; pn < panels; ++pn)
    std::copy(b.data() + (pn * depth + p0) * kPanel, b.data() + (pn * depth + p0 + k) * kPanel,
              window.data() + pn * k * kPanel);
  return window.data();
}

// c[m][n] (+)= a[m][2 kp] · B over B's pairs [q0, q0 + kp), B packed as above with `depth` pairs a panel.
void panels_product(const uint16_t* a, int64_t lda, int64_t m, int64_t kp, const aligned_vector<uint32_t>& b,
                    int64_t depth, int64_t q0, int64_t n, float* c, int64_t ldc, bool accumulate) {
  const uint32_t* panels = panels_window(b, depth, q0, kp, n);
  kernels::active_kernels().gemm_panels_bf16(a, lda, m, kp, reinterpret_cast<const uint16_t*>(panels), n, c, ldc,
                                             accumulate);
}

// out[c][r] = in[r][c] for r < rows, c < cols (in's rows `ld` wide), out's rows `ldo` wide (padding zero).
void transpose_bf16(const uint16_t* in, int64_t ld, int64_t rows, int64_t cols, uint16_t* out, int64_t ldo) {
  for (int64_t c = 0; c < cols; ++c) {
    uint16_t* dst = out + c * ldo;
    for (int64_t r = 0; r < rows; ++r) dst[r] = in[r * ld + c];
    std::fill(dst + rows, dst + ldo, uint16_t{0});
  }
}

// One (sequence, query head)'s operands in bf16, gathered from the [T, heads·d] rows.
struct HeadBf16 {
  int64_t len = 0, d = 0, ld = 0;  // ld = even(d)
  void gather(const float* src, int64_t stride, int64_t offset, int64_t start, aligned_vector<uint16_t>* out) const {
    out->resize(len * ld);
    round_rows(src + start * stride + offset, stride, len, d, out->data(), ld);
  }
};

// The panels of one (sequence, KV head)'s K and V that every query head of its group multiplies by,
// packed once for the group: S = Q·Kᵀ (k_cols), O = P·V (v_pairs, forward), dP = dO·Vᵀ (v_cols) and
// dQ = dS·K (k_pairs, backward).
struct KvPanels {
  aligned_vector<uint32_t> k_cols, v_pairs, v_cols, k_pairs;
};

// Packs `kv[s * kv_heads + g]` for every sequence s and KV head g across the pool.
void pack_kv(const AttentionDims& dims, const std::vector<SeqSpan>& seqs, const float* k, const float* v, bool backward,
             std::vector<KvPanels>* kv, ThreadPool& pool) {
  const int64_t d = dims.head_dim, kvd = dims.kv_heads * d, items = static_cast<int64_t>(seqs.size()) * dims.kv_heads;
  kv->resize(items);
  pool.parallel_for(
      items,
      [&](int64_t b, int64_t e, int) {
        thread_local HeadBf16 h;
        thread_local aligned_vector<uint16_t> kb, vb;
        for (int64_t item = b; item < e; ++item) {
          const SeqSpan& s = seqs[item / dims.kv_heads];
          const int64_t g = item % dims.kv_heads, L = s.len;
          KvPanels& out = (*kv)[item];
          h.len = L;
          h.d = d;
          h.ld = even(d);
          h.gather(k, kvd, g * d, s.start, &kb);
          h.gather(v, kvd, g * d, s.start, &vb);
          transposed_panels(kb.data(), L, h.ld, &out.k_cols);
          if (backward) {
            transposed_panels(vb.data(), L, h.ld, &out.v_cols);
            pack_row_pairs(kb.data(), L, h.ld, d, &out.k_pairs);
          } else {
            pack_row_pairs(vb.data(), L, h.ld, d, &out.v_pairs);
          }
        }
      },
      1, item_chunks(items));
}

void attention_forward_bf16(const AttentionDims& dims, const std::vector<SeqSpan>& seqs, const float* q, const float* k,
                            const float* v, float* ctx, float* lse, ThreadPool& pool) {
  const int64_t d = dims.head_dim, nh = dims.heads, group = nh / dims.kv_heads;
  const int64_t qd = nh * d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const int64_t items = static_cast<int64_t>(seqs.size()) * nh;
  thread_local std::vector<KvPanels> t_kv;  // the caller's: the pool's lambdas see it through `kv`
  std::vector<KvPanels>& kv = t_kv;
  pack_kv(dims, seqs, k, v, false, &kv, pool);
  pool.parallel_for(
      items,
      [&](int64_t b, int64_t e, int) {
        thread_local HeadBf16 h;
        thread_local aligned_vector<uint16_t> qb, pb;
        thread_local aligned_vector<float> p, o;
        thread_local std::vector<float> row_lse;
        for (int64_t item = b; item < e; ++item) {
          const SeqSpan& s = seqs[item / nh];
          const int64_t head = item % nh, g = head / group, L = s.len;
          const aligned_vector<uint32_t>& k_cols = kv[item / nh * dims.kv_heads + g].k_cols;
          const aligned_vector<uint32_t>& v_pairs = kv[item / nh * dims.kv_heads + g].v_pairs;
          h.len = L;
          h.d = d;
          h.ld = even(d);
          h.gather(q, qd, head * d, s.start, &qb);
          const int64_t v_depth = (L + 1) / 2;
          for (int64_t i0 = 0; i0 < L; i0 += kQueryBlock) {
            const int64_t i1 = std::min(L, i0 + kQueryBlock), rows = i1 - i0, kend = i1, kpad = even(kend);
            scratch(p, rows * kend);
            row_lse.resize(rows);
            panels_product(qb.data() + i0 * h.ld, h.ld, rows, h.ld / 2, k_cols, h.ld / 2, 0, kend, p.data(), kend,
                           false);
            softmax_rows(i0, i1, scale, true, p.data(), row_lse.data());
            scratch(pb, rows * kpad);
            round_rows(p.data(), kend, rows, kend, pb.data(), kpad);
            scratch(o, rows * d);
            panels_product(pb.data(), kpad, rows, kpad / 2, v_pairs, v_depth, 0, d, o.data(), d, false);
            store_block(o.data(), row_lse.data(), s.start + i0, rows, head, d, nh, ctx, lse);
          }
        }
      },
      1, item_chunks(items));
}

void attention_backward_bf16(const AttentionDims& dims, const std::vector<SeqSpan>& seqs, const float* q,
                             const float* k, const float* v, const float* ctx, const float* lse, const float* dctx,
                             float* dk_heads, float* dv_heads, int64_t T, float* dq, ThreadPool& pool) {
  const int64_t d = dims.head_dim, nh = dims.heads, group = nh / dims.kv_heads;
  const int64_t qd = nh * d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const int64_t items = static_cast<int64_t>(seqs.size()) * nh;
  thread_local std::vector<KvPanels> t_kv;  // the caller's: the pool's lambdas see it through `kv`
  std::vector<KvPanels>& kv = t_kv;
  {
    TRAIN_PHASE("bwd.attn.pack_kv");
    pack_kv(dims, seqs, k, v, true, &kv, pool);
  }
  pool.parallel_for(
      items,
      [&](int64_t b, int64_t e, int) {
        thread_local HeadBf16 h;
        thread_local aligned_vector<uint16_t> qb, dob, sb, tb;
        thread_local aligned_vector<uint32_t> q_pairs, do_pairs;
        thread_local aligned_vector<float> p, dp, part, dk_h, dv_h;
        thread_local std::vector<float> row_lse, delta;
        for (int64_t item = b; item < e; ++item) {
          const SeqSpan& s = seqs[item / nh];
          const int64_t head = item % nh, g = head / group, L = s.len;
          const KvPanels& shared = kv[item / nh * dims.kv_heads + g];
          const aligned_vector<uint32_t>& k_cols = shared.k_cols;    // S = Q·Kᵀ
          const aligned_vector<uint32_t>& v_cols = shared.v_cols;    // dP = dO·Vᵀ
          const aligned_vector<uint32_t>& k_pairs = shared.k_pairs;  // dQ = dS·K
          h.len = L;
          h.d = d;
          h.ld = even(d);
          const int64_t ld = h.ld, pairs = (L + 1) / 2;
          TRAIN_CPU_PHASE("cpu.attn.item");
          h.gather(q, qd, head * d, s.start, &qb);
          h.gather(dctx, qd, head * d, s.start, &dob);
          pack_row_pairs(qb.data(), L, ld, d, &q_pairs);    // dK = dSᵀ·Q
          pack_row_pairs(dob.data(), L, ld, d, &do_pairs);  // dV = Pᵀ·dO
          output_dots(dctx + s.start * qd + head * d, ctx + s.start * qd + head * d, qd, L, d, &delta);
          dk_h.assign(L * d, 0.0f);
          dv_h.assign(L * d, 0.0f);
          for (int64_t i0 = 0; i0 < L; i0 += kQueryBlock) {
            const int64_t i1 = std::min(L, i0 + kQueryBlock), rows = i1 - i0, kend = i1, kpad = even(kend),
                          rpad = even(rows);
            StepTimer t_s("cpu.attn.s_dp_ds", true);
            row_lse.resize(rows);
            for (int64_t i = i0; i < i1; ++i) row_lse[i - i0] = lse[(s.start + i) * nh + head];
            scratch(p, rows * kend);
            panels_product(qb.data() + i0 * ld, ld, rows, ld / 2, k_cols, ld / 2, 0, kend, p.data(), kend, false);
            softmax_rows(i0, i1, scale, false, p.data(), row_lse.data());
            scratch(dp, rows * kend);
            panels_product(dob.data() + i0 * ld, ld, rows, ld / 2, v_cols, ld / 2, 0, kend, dp.data(), kend, false);
            softmax_grad(p.data(), delta.data() + i0, rows, kend, dp.data());
            t_s.stop();
            // dQ = scale · dS·K
            StepTimer t_q("cpu.attn.dq", true);
            scratch(sb, rows * kpad);
            round_rows(dp.data(), kend, rows, kend, sb.data(), kpad);
            scratch(part, rows * d);
            panels_product(sb.data(), kpad, rows, kpad / 2, k_pairs, pairs, 0, d, part.data(), d, false);
            store_scaled(part.data(), rows, d, scale, dq + (s.start + i0) * qd + head * d, qd);
            // dK += dSᵀ·Q (scaled at the end), dV += Pᵀ·dO, over this block's query rows (pairs from i0 / 2).
            t_q.stop();
            StepTimer t_t("cpu.attn.transposes", true);
            scratch(tb, kend * rpad);
            transpose_bf16(sb.data(), kpad, rows, kend, tb.data(), rpad);
            t_t.stop();
            StepTimer t_k("cpu.attn.dk_dv_products", true);
            panels_product(tb.data(), rpad, kend, rpad / 2, q_pairs, pairs, i0 / 2, d, dk_h.data(), d, true);
            t_k.stop();
            StepTimer t_t2("cpu.attn.transposes", true);
            round_rows(p.data(), kend, rows, kend, sb.data(), kpad);
            transpose_bf16(sb.data(), kpad, rows, kend, tb.data(), rpad);
            t_t2.stop();
            StepTimer t_v("cpu.attn.dk_dv_products", true);
            panels_product(tb.data(), rpad, kend, rpad / 2, do_pairs, pairs, i0 / 2, d, dv_h.data(), d, true);
            t_v.stop();
          }
          TRAIN_CPU_PHASE("cpu.attn.store");
          store_scaled(dk_h.data(), L, d, scale, dk_heads + (head * T + s.start) * d, d);
          store_scaled(dv_h.data(), L, d, 1.0f, dv_heads + (head * T + s.start) * d, d);
        }
      },
      1, item_chunks(items));
}

// The float32 path: every per-head product on gemm_panels (exact float32 products and sums), B packed
// as its panels: K and V once per (sequence, KV head) for its group, Q and dO once per query head.

// Panels of B = Mᵀ (B[p][j] = M[j][p]) for M [n][d], rows `ld` apart: ceil(n / 32) panels d deep.
void pack_cols_f32(const float* m, int64_t ld, int64_t n, int64_t d, aligned_vector<float>* out) {
  out->assign((n + kPanel - 1) / kPanel * kPanel * d, 0.0f);
  for (int64_t j = 0; j < n; ++j) {
    float* dst = out->data() + (j / kPanel) * kPanel * d + j % kPanel;
    for (int64_t c = 0; c < d; ++c) dst[c * kPanel] = m[j * ld + c];
  }
}

// Panels of B = M (B[p][j] = M[p][j]) for M [rows][cols], rows `ld` apart: ceil(cols / 32) panels `rows` deep.
void pack_rows_f32(const float* m, int64_t ld, int64_t rows, int64_t cols, aligned_vector<float>* out) {
  const int64_t panels = (cols + kPanel - 1) / kPanel;
  out->assign(panels * kPanel * rows, 0.0f);
  for (int64_t pn = 0; pn < panels; ++pn) {
    const int64_t c0 = pn * kPanel, width = std::min(kPanel, cols - c0);
    for (int64_t r = 0; r < rows; ++r)
      std::copy(m + r * ld + c0, m + r * ld + c0 + width, out->data() + (pn * rows + r) * kPanel);
  }
}

// c[m][n] += a[m][k] · B over B's rows [p0, p0 + k), B packed as above with `depth` rows a panel.
void panels_product_f32(const float* a, int64_t lda, int64_t m, int64_t k, const aligned_vector<float>& b,
                        int64_t depth, int64_t p0, int64_t n, float* c, int64_t ldc) {
  kernels::active_kernels().gemm_panels(a, lda, m, k, panels_window(b, depth, p0, k, n), n, c, ldc);
}

// out[c][r] = in[r][c] for r < rows, c < cols (in's rows `ld` wide).
void transpose_f32(const float* in, int64_t ld, int64_t rows, int64_t cols, float* out) {
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t r = 0; r < rows; ++r) out[c * rows + r] = in[r * ld + c];
}

void attention_backward_f32(const AttentionDims& dims, const std::vector<SeqSpan>& seqs, const float* q, const float* k,
                            const float* v, const float* ctx, const float* lse, const float* dctx, float* dk_heads,
                            float* dv_heads, int64_t T, float* dq, ThreadPool& pool) {
  const int64_t d = dims.head_dim, nh = dims.heads, group = nh / dims.kv_heads;
  const int64_t qd = nh * d, kvd = dims.kv_heads * d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  // K's and V's panels for S = Q·Kᵀ (k_cols), dP = dO·Vᵀ (v_cols) and dQ = dS·K (k_rows), per (sequence,
  // KV head). The caller's: the pool's lambdas see them through `kv`.
  struct KvF32 {
    aligned_vector<float> k_cols, v_cols, k_rows;
  };
  thread_local std::vector<KvF32> t_kv;
  std::vector<KvF32>& kv = t_kv;
  const int64_t kv_items = static_cast<int64_t>(seqs.size()) * dims.kv_heads;
  kv.resize(kv_items);
  {
    TRAIN_PHASE("bwd.attn.pack_kv");
    pool.parallel_for(
        kv_items,
        [&](int64_t b, int64_t e, int) {
          for (int64_t item = b; item < e; ++item) {
            const SeqSpan& s = seqs[item / dims.kv_heads];
            const int64_t g = item % dims.kv_heads;
            const float* ks = k + s.start * kvd + g * d;
            pack_cols_f32(ks, kvd, s.len, d, &kv[item].k_cols);
            pack_cols_f32(v + s.start * kvd + g * d, kvd, s.len, d, &kv[item].v_cols);
            pack_rows_f32(ks, kvd, s.len, d, &kv[item].k_rows);
          }
        },
        1, item_chunks(kv_items));
  }
  const int64_t items = static_cast<int64_t>(seqs.size()) * nh;
  pool.parallel_for(
      items,
      [&](int64_t b, int64_t e, int) {
        thread_local aligned_vector<float> q_rows, do_rows, p, dp, t, part, dk_h, dv_h;
        thread_local std::vector<float> row_lse, delta;
        for (int64_t item = b; item < e; ++item) {
          const SeqSpan& s = seqs[item / nh];
          const int64_t head = item % nh, g = head / group, L = s.len;
          const KvF32& shared = kv[item / nh * dims.kv_heads + g];
          const float* qs = q + s.start * qd + head * d;      // Q's rows, qd apart
          const float* dos = dctx + s.start * qd + head * d;  // dO's rows
          pack_rows_f32(qs, qd, L, d, &q_rows);               // dK = dSᵀ·Q
          pack_rows_f32(dos, qd, L, d, &do_rows);             // dV = Pᵀ·dO
          output_dots(dos, ctx + s.start * qd + head * d, qd, L, d, &delta);
          dk_h.assign(L * d, 0.0f);
          dv_h.assign(L * d, 0.0f);
          for (int64_t i0 = 0; i0 < L; i0 += kQueryBlock) {
            const int64_t i1 = std::min(L, i0 + kQueryBlock), rows = i1 - i0, kend = i1;
            row_lse.resize(rows);
            for (int64_t i = i0; i < i1; ++i) row_lse[i - i0] = lse[(s.start + i) * nh + head];
            p.assign(rows * kend, 0.0f);
            panels_product_f32(qs + i0 * qd, qd, rows, d, shared.k_cols, d, 0, kend, p.data(), kend);
            softmax_rows(i0, i1, scale, false, p.data(), row_lse.data());
            dp.assign(rows * kend, 0.0f);
            panels_product_f32(dos + i0 * qd, qd, rows, d, shared.v_cols, d, 0, kend, dp.data(), kend);
            softmax_grad(p.data(), delta.data() + i0, rows, kend, dp.data());
            // dQ = scale · dS·K
            part.assign(rows * d, 0.0f);
            panels_product_f32(dp.data(), kend, rows, kend, shared.k_rows, L, 0, d, part.data(), d);
            store_scaled(part.data(), rows, d, scale, dq + (s.start + i0) * qd + head * d, qd);
            // dK += dSᵀ·Q (scaled at the end), dV += Pᵀ·dO, over this block's query rows.
            scratch(t, kend * rows);
            transpose_f32(dp.data(), kend, rows, kend, t.data());
            panels_product_f32(t.data(), rows, kend, rows, q_rows, L, i0, d, dk_h.data(), d);
            transpose_f32(p.data(), kend, rows, kend, t.data());
            panels_product_f32(t.data(), rows, kend, rows, do_rows, L, i0, d, dv_h.data(), d);
          }
          store_scaled(dk_h.data(), L, d, scale, dk_heads + (head * T + s.start) * d, d);
          store_scaled(dv_h.data(), L, d, 1.0f, dv_heads + (head * T + s.start) * d, d);
        }
      },
      1, item_chunks(items));
}

}  // namespace

void attention_forward_train(const AttentionDims& dims, const std::vector<SeqSpan>& seqs, const float* q,
                             const float* k, const float* v, float* ctx, float* lse, ThreadPool& pool) {
  const int64_t d = dims.head_dim, nh = dims.heads, group = nh / dims.kv_heads;
  const int64_t qd = nh * d, kvd = dims.kv_heads * d;
  if (bf16_compute()) {
    attention_forward_bf16(dims, seqs, q, k, v, ctx, lse, pool);
    return;
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const int64_t items = static_cast<int64_t>(seqs.size()) * nh;
  pool.parallel_for(
      items,
      [&](int64_t b, int64_t e, int) {
        thread_local aligned_vector<float> p, o, k_panels, v_panels;
        thread_local std::vector<float> row_lse;
        const auto& K = kernels::active_kernels();
        for (int64_t item = b; item < e; ++item) {
          const SeqSpan& s = seqs[item / nh];
          const int64_t head = item % nh, g = head / group, L = s.len;
          const float* qs = q + s.start * qd + head * d;  // Q's rows, qd apart
          const float* vs = v + s.start * kvd + g * d;
          // Both products on the table's float32 panel GEMM (exact float32 products and sums): K's panels
          // (B = Kᵀ) once per item, V's (B = V) per block, as deep as its keys.
          pack_cols_f32(k + s.start * kvd + g * d, kvd, L, d, &k_panels);
          for (int64_t i0 = 0; i0 < L; i0 += kQueryBlock) {
            const int64_t i1 = std::min(L, i0 + kQueryBlock), rows = i1 - i0;
            p.assign(rows * i1, 0.0f);
            row_lse.resize(rows);
            K.gemm_panels(qs + i0 * qd, qd, rows, d, k_panels.data(), i1, p.data(), i1);
            softmax_rows(i0, i1, scale, true, p.data(), row_lse.data());
            pack_rows_f32(vs, kvd, i1, d, &v_panels);
            o.assign(rows * d, 0.0f);
            K.gemm_panels(p.data(), i1, rows, i1, v_panels.data(), d, o.data(), d);
            store_block(o.data(), row_lse.data(), s.start + i0, rows, head, d, nh, ctx, lse);
          }
        }
      },
      1, item_chunks(items));
}

void attention_backward_train(const AttentionDims& dims, const std::vector<SeqSpan>& seqs, const float* q,
                              const float* k, const float* v, const float* ctx, const float* lse, const float* dctx,
                              float* dq, float* dk, float* dv, ThreadPool& pool) {
  const int64_t d = dims.head_dim, nh = dims.heads, group = nh / dims.kv_heads;
  const int64_t qd = nh * d, kvd = dims.kv_heads * d;
  int64_t T = 0;
  for (const SeqSpan& s : seqs) T = std::max(T, s.start + s.len);
  // Per query head gradients of K and V, [head][T][d] (each head's rows contiguous), summed over each
  // group afterwards. Reused: no fresh pages every layer. (The pool's lambdas see the caller's buffers
  // through references.)
  thread_local std::vector<float> t_dk_heads, t_dv_heads;
  std::vector<float>& dk_heads = t_dk_heads;
  std::vector<float>& dv_heads = t_dv_heads;
  dk_heads.resize(T * qd);  // every row is some sequence's (prepare checks the lengths add up to T)
  dv_heads.resize(T * qd);
  if (bf16_compute())
    attention_backward_bf16(dims, seqs, q, k, v, ctx, lse, dctx, dk_heads.data(), dv_heads.data(), T, dq, pool);
  else
    attention_backward_f32(dims, seqs, q, k, v, ctx, lse, dctx, dk_heads.data(), dv_heads.data(), T, dq, pool);
  // Sums each group's query heads in head order (every row is some sequence's).
  TRAIN_PHASE("bwd.attn.group_sum");
  const auto sum_heads = [&](const std::vector<float>& heads, int64_t t, int64_t g, float* out) {
    std::copy_n(heads.data() + (g * group * T + t) * d, d, out);
    for (int64_t hh = g * group + 1; hh < (g + 1) * group; ++hh) {
      const float* row = heads.data() + (hh * T + t) * d;
      for (int64_t c = 0; c < d; ++c) out[c] += row[c];
    }
  };
  pool.parallel_for(
      T,
      [&](int64_t t0, int64_t t1, int) {
        for (int64_t t = t0; t < t1; ++t)
          for (int64_t g = 0; g < dims.kv_heads; ++g) {
            sum_heads(dk_heads, t, g, dk + t * kvd + g * d);
            sum_heads(dv_heads, t, g, dv + t * kvd + g * d);
          }
      },
      1, kLoopChunks);
}

}  // namespace wenxin::train
