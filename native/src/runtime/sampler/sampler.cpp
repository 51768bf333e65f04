#include "runtime/sampler/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "kernels/kernels.h"

namespace wenxin {

namespace {

constexpr float kRemoved = -std::numeric_limits<float>::infinity();

// Whether every logit is finite: one branch-free pass over the bit patterns (exponent all ones is NaN or
// ±inf), which the compiler vectorizes; the usual case, where sanitize has nothing to change.
bool all_finite(const float* logits, int64_t vocab) {
  uint32_t special = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    uint32_t bits;
    std::memcpy(&bits, logits + i, 4);
    special |= static_cast<uint32_t>((bits & 0x7F800000u) == 0x7F800000u);
  }
  return special == 0;
}

// See sanitize_logits (sampler.h).
bool sanitize(float* logits, int64_t vocab) {
  if (all_finite(logits, vocab)) return vocab > 0;
  bool any = false;
  for (int64_t i = 0; i < vocab; ++i) {
    const float v = logits[i];
    if (std::isnan(v))
      logits[i] = kRemoved;
    else if (v == std::numeric_limits<float>::infinity())
      logits[i] = std::numeric_limits<float>::max();
    any = any || logits[i] != kRemoved;
  }
  return any;
}

// The first index of the largest logit (no NaN: sanitized), as std::max_element: the maximum through the
// kernel table's vectorised max_f32, then the first index that holds it.
int32_t argmax(const float* logits, int64_t vocab) {
  if (vocab <= 0) return 0;
  const float mx = kernels::active_kernels().max_f32(logits, vocab);
  for (int64_t i = 0; i < vocab; ++i)
    if (logits[i] == mx) return static_cast<int32_t>(i);
  return 0;
}

void repetition_penalty(float* logits, int64_t vocab, const std::vector<int32_t>& history, float penalty) {
  std::vector<uint8_t> seen(vocab, 0);
  for (int32_t id : history) {
    if (id < 0 || id >= vocab || seen[id]) continue;
    seen[id] = 1;
    logits[id] = logits[id] < 0 ? logits[id] * penalty : logits[id] / penalty;
  }
}

// The k-th largest logit. Up to kHeapTopK, through a min-heap of the k largest so far: once it is full, a logit
// below its least (almost all of them) costs one comparison; beyond, a selection over a copy of the row.
constexpr int64_t kHeapTopK = 256;

float kth_largest(const float* logits, int64_t vocab, int64_t k) {
  thread_local std::vector<float> buf;
  if (k > kHeapTopK) {
    buf.assign(logits, logits + vocab);
    std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end(), std::greater<float>());
    return buf[k - 1];
  }
  buf.assign(logits, logits + k);
  std::make_heap(buf.begin(), buf.end(), std::greater<float>());
  for (int64_t i = k; i < vocab; ++i) {
    if (!(logits[i] > buf.front())) continue;
    std::pop_heap(buf.begin(), buf.end(), std::greater<float>());
    buf.back() = logits[i];
    std::push_heap(buf.begin(), buf.end(), std::greater<float>());
  }
  return buf.front();
}

void top_k(float* logits, int64_t vocab, int64_t k) {
  k = std::min(k, vocab);
  const float kth = kth_largest(logits, vocab, k);
  for (int64_t i = 0; i < vocab; ++i)  // ties with the k-th value stay, as in transformers
    logits[i] = logits[i] < kth ? kRemoved : logits[i];
}

// p[i] = e^(logits[i] − max) (0 for removed logits), through the kernel table's vectorised max and exp:
// the sampler's pass over the whole vocabulary for every sampled token. Returns Σ p[i] (in double).
double exponentials(const float* logits, int64_t vocab, std::vector<float>* p) {
  const auto& K = kernels::active_kernels();
  p->resize(vocab);
  const float mx = vocab > 0 ? K.max_f32(logits, vocab) : kRemoved;
  if (mx == kRemoved) {  // nothing left to choose: no mass anywhere
    std::fill(p->begin(), p->end(), 0.0f);
    return 0.0;
  }
  return K.exp_sum_f32(logits, 1.0f, mx, p->data(), vocab);
}

// Drops the low-probability tail whose total mass is at most 1 - top_p (the best token always stays):
// equivalently, keeps the most probable tokens up to and including the one whose cumulative
// probability reaches top_p.
void top_p(float* logits, int64_t vocab, float p_keep);

// An order-preserving integer key of a float: larger floats, larger keys.
inline uint32_t order_key(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
}

void top_p(float* logits, int64_t vocab, float p_keep) {
  // Per-thread buffers: this runs for every sampled token of every sequence.
  thread_local std::vector<float> prob;
  thread_local std::vector<double> mass;
  thread_local std::vector<int32_t> order;
  const double z = exponentials(logits, vocab, &prob);
  // Buckets of logit values (by their top key bits), so only the bucket where the mass reaches
  // top_p is sorted: O(vocab) even when the distribution is flat and the kept head is most of it.
  constexpr int kShift = 18;
  mass.assign(size_t{1} << (32 - kShift), 0.0);
  for (int64_t i = 0; i < vocab; ++i)  // removed logits add nothing (and would all hit one bucket, back to back)
    if (prob[i] != 0.0f) mass[order_key(logits[i]) >> kShift] += prob[i];
  double above = 0;  // mass of the buckets above the current one
  int64_t edge = -1;
  for (int64_t b = static_cast<int64_t>(mass.size()) - 1; b >= 0; --b) {
    if ((above + mass[b]) / z >= p_keep) {
      edge = b;
      break;
    }
    above += mass[b];
  }
  if (edge < 0) return;  // rounding: the whole distribution is needed to reach p
  // Inside the edge bucket: the exact rule, by descending logit (ties by id), continuing the sum.
  order.clear();
  for (int64_t i = 0; i < vocab; ++i)
    if ((order_key(logits[i]) >> kShift) == static_cast<uint32_t>(edge)) order.push_back(static_cast<int32_t>(i));
  std::sort(order.begin(), order.end(),
            [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  double cum = above / z;
  size_t kept = order.size();
  for (size_t i = 0; i < order.size(); ++i) {
    cum += prob[order[i]] / z;
    if (cum >= p_keep) {
      kept = i + 1;
      break;
    }
  }
  for (size_t i = kept; i < order.size(); ++i) logits[order[i]] = kRemoved;
  for (int64_t i = 0; i < vocab; ++i)  // a select, not a branch: the compiler vectorises it
    logits[i] = (order_key(logits[i]) >> kShift) < static_cast<uint32_t>(edge) ? kRemoved : logits[i];
}

void min_p(float* logits, int64_t vocab, float min_p) {
  // p_i < min_p · max p  ⟺  e^(z_i − max z) < min_p: the normalisation cancels, the best token's is e^0 = 1.
  thread_local std::vector<float> e;
  exponentials(logits, vocab, &e);
  const int64_t best = argmax(logits, vocab);
  for (int64_t i = 0; i < vocab; ++i)
    if (e[i] < min_p && i != best) logits[i] = kRemoved;
}

}  // namespace

void apply_logits_processors(float* logits, int64_t vocab, const std::vector<int32_t>& history,
                             const SamplingParams& params) {
  sanitize(logits, vocab);
  if (params.repetition_penalty != 1.0f) repetition_penalty(logits, vocab, history, params.repetition_penalty);
  if (params.greedy) return;  // warpers change no argmax
  if (params.temperature != 1.0f) {
    for (int64_t i = 0; i < vocab; ++i) logits[i] /= params.temperature;
    sanitize(logits, vocab);  // a tiny temperature can overflow
  }
  if (params.top_k > 0) top_k(logits, vocab, params.top_k);
  if (params.top_p < 1.0f) top_p(logits, vocab, params.top_p);
  if (params.min_p > 0.0f) min_p(logits, vocab, params.min_p);
}

namespace runtime {

bool sanitize_logits(float* logits, int64_t vocab) { return sanitize(logits, vocab); }

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0); }

int32_t Sampler::sample(float* logits, int64_t vocab, const std::vector<int32_t>& history) {
  apply_logits_processors(logits, vocab, history, params_);
  if (params_.greedy) return argmax(logits, vocab);
  thread_local std::vector<float> p;
  double r = uniform() * exponentials(logits, vocab, &p);
  int64_t last = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    if (p[i] == 0) continue;
    last = i;
    if (r < p[i]) return static_cast<int32_t>(i);
    r -= p[i];
  }
  return static_cast<int32_t>(last);  // rounding left a sliver: the last candidate
}

}  // namespace runtime

}  // namespace wenxin
