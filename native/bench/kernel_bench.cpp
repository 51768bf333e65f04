// Per-kernel micro-benchmark: GEMM throughput of each ISA and weight format on one thread.
//   build/tests/wenxin_kernel_bench [T] [N] [K]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "kernels/kernels.h"

using namespace wenxin;
using namespace wenxin::kernels;

template <class F>
double seconds(F&& f, int reps) {
  f();  // warm-up
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

// The fastest of `reps` runs: robust to other processes on a shared machine.
template <class F>
double best_seconds(F&& f, int reps) {
  f();
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

int main(int argc, char** argv) {
  const int64_t T = argc > 1 ? std::atoll(argv[1]) : 64, N = argc > 2 ? std::atoll(argv[2]) : 1024,
                K = argc > 3 ? std::atoll(argv[3]) : 1024;
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0, 1);
  std::vector<float> x(T * K), y(T * N);
  for (auto& v : x) v = d(rng);
  std::vector<uint16_t> wb(N * K);
  for (auto& v : wb) v = 0x3c00 + (rng() % 256);
  std::vector<uint8_t> q8(N * K), q4(N * K / 2);
  for (auto& v : q8) v = 1 + rng() % 254;
  for (auto& v : q4) v = rng() % 256;
  std::vector<uint16_t> scales(N * (K / 32), 0x2000);
  const double macs = static_cast<double>(T) * N * K;
  for (Isa isa : supported_isas()) {
    const KernelTable& k = *kernels_for(isa);
    const int reps = isa == Isa::kGeneric ? 1 : 5;
    // rows in L2-sized blocks when there are several tokens, all at once for one, as the engine walks them
    const int64_t block = T == 1 ? N : 96;
    const double tf = seconds(
        [&] {
          for (int64_t n0 = 0; n0 < N; n0 += block)
            k.gemm_float(x.data(), T, K, wb.data(), DType::kBF16, K * 2, n0, std::min(N, n0 + block), y.data(), N);
        },
        reps);
    QuantizedActivations qa;
    qa.resize(T, K);
    for (int64_t t = 0; t < T; ++t) k.quantize_row_q8(x.data() + t * K, t, &qa);
    QuantizedMatrix m8{N, K, q8.data(), nullptr, scales.data(), nullptr},
        m4{N, K, q4.data(), nullptr, scales.data(), nullptr};
    std::vector<uint8_t> p8, p4;
    if (k.repack) {
      p8.resize(packed_bytes(k, false, N, K));
      p4.resize(packed_bytes(k, true, N, K));
      k.repack(m8, false, p8.data());
      k.repack(m4, true, p4.data());
      m8.packed = p8.data();
      m4.packed = p4.data();
    }
    // Rows in the blocks the engine walks (model/layers/linear.cpp: ~192 KB of weights a block when there
    // are several tokens, all at once for one); the best of the runs.
    const auto blocked = [&](auto gemm, const QuantizedMatrix& m, int64_t row_bytes) {
      const int64_t rows = T == 1 ? N : std::max<int64_t>(32, (192 * 1024 / row_bytes) / 32 * 32);
      return best_seconds(
          [&] {
            for (int64_t n0 = 0; n0 < N; n0 += rows) gemm(qa, m, n0, std::min(N, n0 + rows), y.data(), N);
          },
          reps);
    };
    const double t8 = blocked(k.gemm_q8, m8, K + K / 16);
    const double t4 = blocked(k.gemm_q4, m4, K / 2 + K / 16);
    // attention: one GQA group of 8 heads (d = 128) over 512 cached positions
    const int64_t G = 8, D = 128, P = 512;
    const int64_t S = argc > 4 ? std::atoll(argv[4]) : D;  // floats between positions (the engine: kv_dim)
    std::vector<float> kv(P * S * 2), q(G * D), o(G * D), mm(G), ll(G);
    for (auto& v : kv) v = d(rng) * 0.1f;
    for (auto& v : q) v = d(rng);
    std::vector<const void*> kb(P / 32), vb(P / 32);
    for (int64_t b = 0; b < P / 32; ++b) {
      kb[b] = kv.data() + b * 32 * S;
      vb[b] = kv.data() + P * S + b * 32 * S;
    }
    AttentionArgs aa{q.data(), G, D, 0.088f, kb.data(), vb.data(), 32, S, 0, P};
    const double ta = best_seconds([&] { k.attention(aa, {o.data(), mm.data(), ll.data()}); }, 50);
    std::printf("%-8s attention G=8 d=128 n=512: %6.1f GMAC/s\n", k.name, 2.0 * G * D * P / ta / 1e9);
    // A 512-token causal prefill of one KV head, in runs of queries as the engine cuts them (about the
    // table's attention_rows query rows a call) and tags them (one reuse tag a prefill: its keys and values
    // laid out once).
    const int64_t QR = std::max<int64_t>(1, k.attention_rows / G);
    std::vector<float> qp(P * G * D), op(P * G * D), mp(P * G), lp(P * G);
    uint64_t prefill_tag = static_cast<uint64_t>(isa) << 32;
    for (auto& v : qp) v = d(rng);
    const double tp = best_seconds(
        [&] {
          ++prefill_tag;
          for (int64_t t0 = 0; t0 < P; t0 += QR) {
            AttentionArgs r = aa;
            r.reuse = prefill_tag;
            r.q = qp.data() + t0 * G * D;
            r.queries = QR;
            r.q_stride = G * D;
            r.q_pos = t0;
            r.end = t0 + QR;
            k.attention(r, {op.data() + t0 * G * D, mp.data() + t0 * G, lp.data() + t0 * G});
          }
        },
        isa == Isa::kGeneric ? 3 : 20);
    std::printf("%-8s attention prefill G=8 d=128 T=512 (runs of %lld): %6.1f GMAC/s, %.2f ms\n", k.name, (long long)QR,
                2.0 * G * D * (P * (P + 1) / 2) / tp / 1e9, tp * 1e3);
    std::printf("%-8s T=%lld N=%lld K=%lld  bf16 %6.1f GMAC/s   q8 %6.1f GMAC/s   q4 %6.1f GMAC/s\n", k.name,
                (long long)T, (long long)N, (long long)K, macs / tf / 1e9, macs / t8 / 1e9, macs / t4 / 1e9);
    // Prefill on tiles (the tables with gemm_rows_quantized_bf16): x rounded to bf16, W's rows read as
    // stored (bf16) or decoded from the tiles (q8, q4), all rows in one call as the engine makes it (the
    // kernel blocks them for the cache).
    if (k.gemm_rows_quantized_bf16 != nullptr) {
      std::vector<uint16_t> xt(T * K);
      k.round_bf16(x.data(), xt.data(), T * K);
      const double rb =
          best_seconds([&] { k.gemm_rows_bf16(xt.data(), K, T, K / 2, wb.data(), K, N, y.data(), N, false); }, reps);
      const double r8 =
          best_seconds([&] { k.gemm_rows_quantized_bf16(xt.data(), K, T, m8, false, 0, N, y.data(), N, false); }, reps);
      const double r4 =
          best_seconds([&] { k.gemm_rows_quantized_bf16(xt.data(), K, T, m4, true, 0, N, y.data(), N, false); }, reps);
      std::printf("%-8s tiles T=%lld N=%lld K=%lld  bf16 %6.1f GMAC/s   q8 %6.1f GMAC/s   q4 %6.1f GMAC/s\n", k.name,
                  (long long)T, (long long)N, (long long)K, macs / rb / 1e9, macs / r8 / 1e9, macs / r4 / 1e9);
    }
    // Training's products through packed panels (train/matmul.cpp): T rows of activations against a
    // K × N block of panels, float32 and bf16 pairs.
    const int64_t panels = (N + kGemmPanel - 1) / kGemmPanel, KP = (K + 1) / 2;
    std::vector<float> bp(panels * kGemmPanel * K), yp(T * N);
    for (auto& v : bp) v = d(rng) * 0.1f;
    std::vector<uint16_t> xb(T * 2 * KP), bb(panels * kGemmPanel * 2 * KP);
    for (auto& v : xb) v = 0x3c00 + (rng() % 256);
    for (auto& v : bb) v = 0x3c00 + (rng() % 256);
    const double tpf = best_seconds([&] { k.gemm_panels(x.data(), K, T, K, bp.data(), N, yp.data(), N); }, reps);
    const double tpb =
        best_seconds([&] { k.gemm_panels_bf16(xb.data(), 2 * KP, T, KP, bb.data(), N, yp.data(), N, false); }, reps);
    std::printf("%-8s panels T=%lld N=%lld K=%lld  f32 %6.1f GMAC/s   bf16 %6.1f GMAC/s\n", k.name, (long long)T,
                (long long)N, (long long)K, macs / tpf / 1e9, macs / tpb / 1e9);
  }
  return 0;
}
