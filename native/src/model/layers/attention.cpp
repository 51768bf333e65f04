#include "model/layers/attention.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/ops.h"

namespace wenxin::model {

void RopeTable::build(const std::vector<int32_t>& positions, int64_t head_dim, float theta) {
  const int64_t half = head_dim / 2;
  cos.resize(positions.size() * half);
  sin.resize(positions.size() * half);
  // float32 throughout, in the reference's order: inv_freq = 1 / theta^(2i/d); angle = p * inv_freq.
  std::vector<float> inv_freq(half);
  for (int64_t i = 0; i < half; ++i)
    inv_freq[i] = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(head_dim));
  for (size_t t = 0; t < positions.size(); ++t) {
    const float p = static_cast<float>(positions[t]);
    for (int64_t i = 0; i < half; ++i) {
      const float angle = p * inv_freq[i];
      cos[t * half + i] = std::cos(angle);
      sin[t * half + i] = std::sin(angle);
    }
  }
}

void attention_forward(const AttentionShape& s, const AttentionWeights& w, const RopeTable& rope, const Batch& batch,
                       const float* x, float* out, ThreadPool& pool) {
  const int64_t T = static_cast<int64_t>(batch.size());
  const int64_t d = s.head_dim, half = d / 2;
  const int64_t qd = s.num_heads * d, kvd = s.num_kv_heads * d;
  const int64_t group = s.num_heads / s.num_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));

  // Step scratch, reused across steps by the thread that drives the model. Workers reach it
  // through the plain pointers below (a lambda naming a thread_local would see its own copy).
  thread_local std::vector<float> q_buf, k_buf, v_buf, ctx_buf;
  q_buf.resize(T * qd);
  k_buf.resize(T * kvd);
  v_buf.resize(T * kvd);
  ctx_buf.resize(T * qd);
  float* q = q_buf.data();
  float* k = k_buf.data();
  float* v = v_buf.data();
  float* ctx = ctx_buf.data();
  linear_forward(*w.q, x, T, q, pool);
  linear_forward(*w.k, x, T, k, pool);
  linear_forward(*w.v, x, T, v, pool);

  for (int64_t t = 0; t < T; ++t) {
    kernels::rope_interleaved_f32(q + t * qd, s.num_heads, d, rope.cos.data() + t * half, rope.sin.data() + t * half);
    kernels::rope_interleaved_f32(k + t * kvd, s.num_kv_heads, d, rope.cos.data() + t * half,
                                  rope.sin.data() + t * half);
    kv::KvSequence* cache = batch.caches[t];
    std::memcpy(cache->key(s.layer, batch.positions[t]), k + t * kvd, kvd * sizeof(float));
    std::memcpy(cache->value(s.layer, batch.positions[t]), v + t * kvd, kvd * sizeof(float));
  }

  // One work item per (token, head); each attends to its own sequence's positions 0..pos.
  pool.parallel_for(T * s.num_heads, [&](int64_t begin, int64_t end, int) {
    thread_local std::vector<float> scores;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / s.num_heads, h = item % s.num_heads, kvh = h / group;
      kv::KvSequence* cache = batch.caches[t];
      const int64_t n = batch.positions[t] + 1;
      const float* qh = q + t * qd + h * d;
      scores.resize(n);
      for (int64_t j = 0; j < n; ++j) scores[j] = kernels::dot_f32(qh, cache->key(s.layer, j) + kvh * d, d) * scale;
      kernels::softmax_f32(scores.data(), n);
      float* o = ctx + t * qd + h * d;
      std::memset(o, 0, d * sizeof(float));
      for (int64_t j = 0; j < n; ++j) kernels::axpy_f32(scores[j], cache->value(s.layer, j) + kvh * d, o, d);
    }
  });

  linear_forward(*w.o, ctx, T, out, pool);
}

}  // namespace wenxin::model
