// Sampler::sample draws from softmax(logits / temperature): the frequencies of many seeded draws
// against the distribution computed here in double, within five standard errors, on a small vocabulary
// and on a full-size one (the vectorised passes' lanes and pieces), on the kernel path WENXIN_ISA picks.
// Run once per path this CPU runs by test/native/sampler.int.test.ts.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "runtime/sampler/sampler.h"

namespace {

using wenxin::SamplingParams;
using wenxin::runtime::Sampler;

int checks = 0, failures = 0;

void check(bool ok, const std::string& what) {
  ++checks;
  if (!ok) {
    ++failures;
    std::printf("FAIL %s\n", what.c_str());
  }
}

// Draws `n` tokens from `logits` (a fresh copy each time, as the engine hands the sampler each step's row)
// and compares the frequency of each `watched` token with p = softmax(logits / temperature).
void check_frequencies(const std::string& name, const std::vector<float>& logits, const SamplingParams& params,
                       const std::vector<int32_t>& watched, int n) {
  const int64_t vocab = static_cast<int64_t>(logits.size());
  double mx = -INFINITY;
  for (float v : logits) mx = std::fmax(mx, v / params.temperature);
  std::vector<double> p(vocab);
  double z = 0;
  for (int64_t i = 0; i < vocab; ++i) z += p[i] = std::exp(logits[i] / params.temperature - mx);
  Sampler sampler(params);
  std::vector<int> count(vocab, 0);
  std::vector<float> row;
  for (int d = 0; d < n; ++d) {
    row = logits;
    const int32_t t = sampler.sample(row.data(), vocab, {});
    if (t < 0 || t >= vocab) {
      check(false, name + ": token " + std::to_string(t) + " outside the vocabulary");
      return;
    }
    ++count[t];
  }
  for (int32_t t : watched) {
    const double want = p[t] / z, got = static_cast<double>(count[t]) / n;
    const double bound = 5.0 * std::sqrt(want * (1 - want) / n) + 1e-9;
    char what[256];
    std::snprintf(what, sizeof what, "%s [%s]: token %d drawn %.5f of the time, softmax %.5f (± %.5f)", name.c_str(),
                  wenxin::kernels::active_kernels().name, t, got, want, bound);
    check(std::fabs(got - want) <= bound, what);
  }
}

void run() {
  SamplingParams params;
  params.greedy = false;
  params.temperature = 0.7f;
  params.seed = 42;
  // Eight tokens, one of them never drawn in practice (e^-40 of the best).
  check_frequencies("8 tokens", {1.0f, 0.5f, -0.25f, 2.0f, 1.5f, 0.0f, -28.0f, 1.9f}, params, {0, 1, 2, 3, 4, 5, 6, 7},
                    100000);
  // The full vocabulary: a head of five tokens over a tail of 103,419 (which holds about a tenth of the mass).
  std::vector<float> big(103424);
  std::mt19937 rng(7);
  std::normal_distribution<float> tail(-4.0f, 1.0f);
  for (float& v : big) v = tail(rng);
  const std::vector<int32_t> head = {17, 5000, 51234, 99999, 103423};
  for (size_t i = 0; i < head.size(); ++i) big[head[i]] = 5.0f - 0.4f * static_cast<float>(i);
  params.temperature = 1.0f;
  check_frequencies("103,424 tokens", big, params, head, 20000);
}

}  // namespace

int main() {
  std::printf("kernels: %s\n", wenxin::kernels::active_kernels().name);
  run();
  std::printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
