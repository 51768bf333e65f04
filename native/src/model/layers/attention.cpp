#include "model/layers/attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/kernels.h"
#include "kernels/ops.h"
#include "model/layers/token_loop.h"

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

namespace {

// Causal attention of every batch token over its own sequence's cached positions 0..pos. The batch's
// tokens are cut into runs of consecutive positions of one sequence (a prompt chunk; a decoding
// sequence is a run of one), up to kRunTokens long, and each (run, KV head) is one work item: the
// kernel tiles the run's query rows × GQA heads against key tiles, so every key and value load
// serves the whole run. When there are too few items to occupy the threads (decode of few
// sequences) and contexts are long, positions are split across threads and the online-softmax
// partials merged (split-KV).
void attend(const AttentionShape& s, const Batch& batch, const float* q, float* ctx, StepScratch& scratch,
            ThreadPool& pool) {
  const auto& K = kernels::active_kernels();
  const int64_t T = static_cast<int64_t>(batch.size());
  const int64_t d = s.head_dim, G = s.num_heads / s.num_kv_heads, qd = s.num_heads * d, kvh = s.num_kv_heads;
  // About the kernel's attention_rows query rows per item (128: 16 tokens of a group of 8 heads).
  const int64_t kRunTokens = std::max<int64_t>(1, K.attention_rows / G);
  std::vector<int64_t> run_start;  // token index of each run's first token
  std::vector<int64_t> first_run;  // per run: the first run of its sequence in this batch
  for (int64_t t = 0; t < T; ++t)
    if (t == 0 || batch.caches[t] != batch.caches[t - 1] || batch.positions[t] != batch.positions[t - 1] + 1 ||
        t - run_start.back() == kRunTokens) {
      const bool same_sequence = t > 0 && batch.caches[t] == batch.caches[t - 1];
      first_run.push_back(same_sequence ? first_run.back() : static_cast<int64_t>(run_start.size()));
      run_start.push_back(t);
    }
  const int64_t runs = static_cast<int64_t>(run_start.size());
  run_start.push_back(T);
  const int64_t items = runs * kvh;
  int64_t max_len = 0;
  for (int32_t p : batch.positions) max_len = std::max<int64_t>(max_len, p + 1);
  const int64_t splits =
      items < 2 * pool.size() && max_len >= 512 ? std::min<int64_t>(pool.size() * 2, max_len / 256) : 1;

  // Reuse tags, one per (sequence, KV head) of this call: unique across calls and layers.
  static std::atomic<uint64_t> next_reuse{1};
  const uint64_t reuse_base = next_reuse.fetch_add(static_cast<uint64_t>(runs * kvh));

  // Partials laid out [KV head][split][token][head][d], so a run's tokens are contiguous.
  const auto part = [&](int64_t g, int64_t split, int64_t t) { return ((g * splits + split) * T + t) * G; };
  // The step's scratch, reused across its layers: the kernel writes every partial it owns (o only
  // with split-KV).
  if (splits > 1) scratch.part_o.resize(std::max(scratch.part_o.size(), static_cast<size_t>(kvh * splits * T * G * d)));
  scratch.part_m.resize(std::max(scratch.part_m.size(), static_cast<size_t>(kvh * splits * T * G)));
  scratch.part_l.resize(std::max(scratch.part_l.size(), static_cast<size_t>(kvh * splits * T * G)));
  float* part_o = scratch.part_o.data();
  float* part_m = scratch.part_m.data();
  float* part_l = scratch.part_l.data();
  pool.parallel_for(
      items * splits,
      [&](int64_t b, int64_t e, int) {
        std::vector<const void*> kb, vb;
        std::vector<const float*> ks, vs;
        for (int64_t i = b; i < e; ++i) {
          // Causal rows grow with position. Without split-KV (prefill, or many decoding sequences), a KV
          // head's runs latest first: the largest items go first (so the threads finish together), and a
          // thread's next run of the same sequence sees a prefix of the keys its last one did, which the
          // kernel may keep (args.reuse). With split-KV (few long decodes), early and late runs paired so
          // each thread gets equal work.
          const int64_t slot = i / splits, split = i % splits;
          int64_t run, g;
          if (splits == 1) {
            g = slot / runs;
            run = runs - 1 - slot % runs;
          } else {
            const int64_t item = slot % 2 == 0 ? slot / 2 : items - 1 - slot / 2;
            run = item / kvh;
            g = item % kvh;
          }
          const int64_t t0 = run_start[run], nq = run_start[run + 1] - t0;
          const kv::KvSequence* cache = batch.caches[t0];
          const kv::KvCacheShape& shape = cache->shape();
          const int64_t n = batch.positions[t0 + nq - 1] + 1;  // the run's last token sees n positions
          const int64_t bt = shape.block_tokens, nblocks = (n + bt - 1) / bt;
          const int64_t head_bytes = g * d * shape.element_bytes();
          kb.resize(nblocks);
          vb.resize(nblocks);
          for (int64_t blk = 0; blk < nblocks; ++blk) {
            kb[blk] = cache->key_block(s.layer, blk) + head_bytes;
            vb[blk] = cache->value_block(s.layer, blk) + head_bytes;
          }
          kernels::AttentionArgs a;
          a.kv_type = static_cast<int32_t>(shape.precision);
          a.k_blocks = kb.data();
          a.v_blocks = vb.data();
          if (shape.has_scales()) {
            ks.resize(nblocks);
            vs.resize(nblocks);
            for (int64_t blk = 0; blk < nblocks; ++blk) {
              ks[blk] = cache->key_scales(s.layer, blk) + g;
              vs[blk] = cache->value_scales(s.layer, blk) + g;
            }
            a.k_scales = ks.data();
            a.v_scales = vs.data();
            a.scale_stride = shape.kv_heads;
          }
          a.q = q + t0 * qd + g * G * d;
          a.heads = G;
          a.d = d;
          a.scale = 1.0f / std::sqrt(static_cast<float>(d));
          a.block_tokens = bt;
          a.pos_stride = shape.kv_dim();
          a.begin = n * split / splits;
          a.end = n * (split + 1) / splits;
          a.queries = nq;
          a.q_stride = qd;
          a.q_pos = batch.positions[t0];
          if (splits == 1) a.reuse = reuse_base + first_run[run] * kvh + g;
          const int64_t p = part(g, split, t0);
          if (splits == 1)  // the run's output straight into ctx: no merge follows
            K.attention(a, {ctx + t0 * qd + g * G * d, part_m + p, part_l + p, qd, true});
          else
            K.attention(a, {part_o + p * d, part_m + p, part_l + p});
        }
      },
      // One item per chunk, claimed in turn: a batched decode's items are equal and few (16 streams × 2 KV
      // heads), and two halves fixed up front leave one thread waiting when the other is descheduled.
      1, static_cast<int>((items * splits + pool.size() - 1) / pool.size()));
  if (splits == 1) return;

  // Merge the partials of each (token, KV head) and normalise.
  pool.parallel_for(
      T,
      [&](int64_t tb, int64_t te, int) {
        for (int64_t t = tb; t < te; ++t)
          for (int64_t g = 0; g < kvh; ++g)
            for (int64_t h = 0; h < G; ++h) {
              float mx = -std::numeric_limits<float>::infinity();
              for (int64_t sp = 0; sp < splits; ++sp) mx = std::max(mx, part_m[part(g, sp, t) + h]);
              float* o = ctx + t * qd + (g * G + h) * d;
              std::memset(o, 0, d * sizeof(float));
              float l = 0;
              for (int64_t sp = 0; sp < splits; ++sp) {
                const int64_t idx = part(g, sp, t) + h;
                if (part_l[idx] == 0) continue;
                const float w = std::exp(part_m[idx] - mx);
                l += part_l[idx] * w;
                K.axpy_f32(w, part_o + idx * d, o, d);
              }
              const float inv = 1.0f / l;
              for (int64_t i = 0; i < d; ++i) o[i] *= inv;
            }
      },
      8);
}

}  // namespace

void attention_forward(const AttentionShape& s, const AttentionWeights& w, const RopeTable& rope, const Batch& batch,
                       const float* x, float* out, StepScratch& scratch, ThreadPool& pool) {
  const int64_t T = static_cast<int64_t>(batch.size());
  const int64_t d = s.head_dim, half = d / 2;
  const int64_t qd = s.num_heads * d, kvd = s.num_kv_heads * d;

  // The step's scratch, reused across its layers (every element is written before it is read).
  scratch.q.resize(T * qd);
  scratch.k.resize(T * kvd);
  scratch.v.resize(T * kvd);
  scratch.ctx.resize(T * qd);
  float* q = scratch.q.data();
  float* k = scratch.k.data();
  float* v = scratch.v.data();
  float* ctx = scratch.ctx.data();
  const int32_t* adapters = batch.adapter_ids();
  LinearInput in(x, T, w.q->in, adapters);  // quantized once for q, k and v
  linear_forward_fused({{w.q, q}, {w.k, k}, {w.v, v}}, in, pool);

  for_each_token(pool, T, [&](int64_t t) {  // each token writes its own cache slot
    kernels::rope_interleaved_f32(q + t * qd, s.num_heads, d, rope.cos.data() + t * half, rope.sin.data() + t * half);
    kernels::rope_interleaved_f32(k + t * kvd, s.num_kv_heads, d, rope.cos.data() + t * half,
                                  rope.sin.data() + t * half);
    batch.caches[t]->store(s.layer, batch.positions[t], k + t * kvd, v + t * kvd);
  });

  attend(s, batch, q, ctx, scratch, pool);
  linear_forward(*w.o, ctx, T, out, pool, adapters);
}

}  // namespace wenxin::model
