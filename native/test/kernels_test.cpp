// Every ISA's kernels against the generic reference, on odd sizes (not multiples of the vector
// width, register tile or block where the format allows). Prints one line per failure and ends
// with "N passed, N failed"; exits non-zero on any failure.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/aligned_vector.h"
#include "kernels/kernels.h"
#include "kernels/quantize_weights.h"
#if defined(__x86_64__) || defined(_M_X64)
#include "kernels/attention_x86.h"
#include "kernels/avx512/avx512.h"
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
#include "kernels/arm/neon.h"
#endif

using namespace wenxin;
using namespace wenxin::kernels;

#if defined(WENXIN_TEST_VNNI_EMULATED)
// kernels_avx_vnni.cpp built with vpdpbusd emulated in AVX2 (CMakeLists.txt): the AVX-VNNI kernels'
// logic on CPUs without AVX-VNNI; the instruction itself runs only where the CPU has it.
namespace wenxin::kernels::avx_vnni_emulated {
extern const KernelTable kTable;
}
#endif

namespace {

int passed = 0, failed = 0;
std::mt19937 rng(1234);

std::vector<float> random_floats(size_t n, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

void check(bool ok, const std::string& what) {
  if (ok) {
    ++passed;
  } else {
    ++failed;
    std::printf("FAIL %s\n", what.c_str());
  }
}

// |a - b| within `rel` of the largest reference value (at least `floor`: sums that cancel to
// almost nothing still carry rounding of their larger terms).
bool close(const std::vector<float>& a, const std::vector<float>& b, float rel, float floor = 1e-6f) {
  float scale = floor;
  for (float v : b) scale = std::fmax(scale, std::fabs(v));
  for (size_t i = 0; i < a.size(); ++i)
    if (!(std::fabs(a[i] - b[i]) <= rel * scale)) return false;
  return true;
}

uint16_t bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  return static_cast<uint16_t>((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
}

std::string shape(const char* op, const char* isa, int64_t t, int64_t n, int64_t k) {
  return std::string(op) + " [" + isa + "] T=" + std::to_string(t) + " N=" + std::to_string(n) +
         " K=" + std::to_string(k);
}

void test_gemm_float(const KernelTable& ref, const KernelTable& isa) {
  // T = 70 > kLayoutTokens: prefill, where bf16 weights' rows are laid out as panels.
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16})
    for (int64_t T : {1, 2, 3, 5, 9, 70})
      for (int64_t N : {1, 3, 9, 17})
        for (int64_t K : {1, 7, 31, 33, 100, 257}) {
          const auto x = random_floats(T * K);
          const auto wf = random_floats(N * K, 0.1f);
          std::vector<uint8_t> w(N * K * dtype_size(dt));
          for (int64_t i = 0; i < N * K; ++i) {
            if (dt == DType::kF32)
              std::memcpy(w.data() + i * 4, &wf[i], 4);
            else {
              const uint16_t h = dt == DType::kBF16 ? bf16(wf[i]) : static_cast<uint16_t>(0x3C00);  // f16: 1.0
              std::memcpy(w.data() + i * 2, &h, 2);
            }
          }
          std::vector<float> a(T * N), b(T * N);
          const size_t rb = K * dtype_size(dt);
          ref.gemm_float(x.data(), T, K, w.data(), dt, rb, 0, N, a.data(), N);
          // split rows the way the thread pool does, to test partial ranges
          isa.gemm_float(x.data(), T, K, w.data(), dt, rb, 0, N / 2, b.data(), N);
          isa.gemm_float(x.data(), T, K, w.data(), dt, rb, N / 2, N, b.data(), N);
          // Within 1e-5 of the largest sum of |x · w| a product adds up: with f16 weights of 1.0 every output
          // is the same sum of x, which can cancel to near 0 while its rounding is that of its terms.
          float terms = 0.0f;
          for (int64_t t = 0; t < T; ++t)
            for (int64_t n = 0; n < N; ++n) {
              float sum = 0.0f;
              for (int64_t i = 0; i < K; ++i)
                sum += std::fabs(x[t * K + i] * (dt == DType::kF16 ? 1.0f : wf[n * K + i]));
              terms = std::fmax(terms, sum);
            }
          check(close(b, a, 1e-5f, terms),
                shape((std::string("gemm_float/") + dtype_name(dt)).c_str(), isa.name, T, N, K));
          // each token's outputs bit for bit as when it is alone: a text embeds, and a sequence
          // decodes, the same in a batch as by itself (below prefill's kLayoutTokens, where the products may
          // take another path)
          if (T >= kLayoutTokens) continue;
          bool alone = true;
          std::vector<float> one(N);
          for (int64_t t = 0; t < T; ++t) {
            isa.gemm_float(x.data() + t * K, 1, K, w.data(), dt, rb, 0, N, one.data(), N);
            alone = alone && std::memcmp(one.data(), b.data() + t * N, N * sizeof(float)) == 0;
          }
          check(alone,
                shape((std::string("gemm_float/") + dtype_name(dt) + " batch-invariant").c_str(), isa.name, T, N, K));
        }
}

// Training's panel products: every row count of the register tiles and their remainders, partial
// panels (n not a multiple of kGemmPanel), a strided `a` and `c`, and accumulation into c.
void test_gemm_panels(const KernelTable& ref, const KernelTable& isa) {
  for (int64_t M : {1, 5, 6, 12, 13, 25})
    for (int64_t N : {1, 9, 16, 32, 45, 70})
      for (int64_t K : {1, 7, 64, 129, 300}) {  // 300: past AVX2's depth blocks of 256
        const int64_t lda = K + 3, ldc = N + 5, panels = (N + kGemmPanel - 1) / kGemmPanel;
        const auto a = random_floats(M * lda);
        auto b = random_floats(panels * K * kGemmPanel, 0.1f);
        for (int64_t p = 0; p < panels * K; ++p)  // columns past N are zero, as the contract says
          for (int64_t j = 0; j < kGemmPanel; ++j)
            if ((p / K) * kGemmPanel + j >= N) b[p * kGemmPanel + j] = 0.0f;
        const auto c0 = random_floats(M * ldc);
        std::vector<float> x = c0, y = c0;
        ref.gemm_panels(a.data(), lda, M, K, b.data(), N, x.data(), ldc);
        isa.gemm_panels(a.data(), lda, M, K, b.data(), N, y.data(), ldc);
        check(close(y, x, 1e-5f, 0.1f), shape("gemm_panels", isa.name, M, N, K));
        // The padding between rows of c is left alone.
        bool untouched = true;
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = N; j < ldc; ++j) untouched = untouched && y[i * ldc + j] == c0[i * ldc + j];
        check(untouched, shape("gemm_panels leaves c's padding", isa.name, M, N, K));
      }
}

// The bf16 panel products: every tile row count and remainder, partial panels, odd pair counts, a
// strided `a` and `c`, accumulation into c and (not accumulating) c's old values ignored, NaN there
// included. Each product of two bf16 is exact, so the sums match the reference up to float32 summation
// order. `gemm` is the table's entry or another implementation of it.
using PanelsBf16 = void (*)(const uint16_t*, int64_t, int64_t, int64_t, const uint16_t*, int64_t, float*, int64_t,
                            bool);
void test_gemm_panels_bf16(const KernelTable& ref, PanelsBf16 gemm, const std::string& name) {
  for (int64_t M : {1, 3, 4, 5, 12, 13, 25})
    for (int64_t N : {1, 9, 16, 32, 45, 70})
      for (int64_t KP : {1, 7, 64, 129, 261}) {  // 129, 261: past AVX2's depth blocks of 256
        const int64_t lda = 2 * KP + 4, ldc = N + 5, panels = (N + kGemmPanel - 1) / kGemmPanel;
        std::vector<uint16_t> a(M * lda), b(panels * KP * 2 * kGemmPanel);
        const auto af = random_floats(a.size()), bf = random_floats(b.size(), 0.1f);
        for (size_t i = 0; i < a.size(); ++i) a[i] = bf16(af[i]);
        for (size_t i = 0; i < b.size(); ++i) {  // columns past N are zero, as the contract says
          const int64_t col = static_cast<int64_t>(i) / (2 * KP * kGemmPanel) * kGemmPanel + (i / 2) % kGemmPanel;
          b[i] = col < N ? bf16(bf[i]) : 0;
        }
        for (const bool accumulate : {true, false}) {
          const auto c0 = random_floats(M * ldc);
          std::vector<float> x = c0, y = c0;
          if (!accumulate) {  // the reference from zero; the kernel over values it must not read
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = 0; j < N; ++j) {
                x[i * ldc + j] = 0.0f;
                y[i * ldc + j] = std::numeric_limits<float>::quiet_NaN();
              }
          }
          ref.gemm_panels_bf16(a.data(), lda, M, KP, b.data(), N, x.data(), ldc, true);
          gemm(a.data(), lda, M, KP, b.data(), N, y.data(), ldc, accumulate);
          const std::string what = accumulate ? "gemm_panels_bf16" : "gemm_panels_bf16 (c =)";
          check(close(y, x, 1e-5f, 0.1f), shape(what.c_str(), name.c_str(), M, N, 2 * KP));
          bool untouched = true;
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = N; j < ldc; ++j) untouched = untouched && y[i * ldc + j] == c0[i * ldc + j];
          check(untouched, shape((what + " leaves c's padding").c_str(), name.c_str(), M, N, 2 * KP));
        }
      }
  // The reference itself against float32 products of the same bf16 values.
  if (gemm != ref.gemm_panels_bf16) return;
  const int64_t M = 5, N = 40, KP = 9, panels = 2;
  std::vector<uint16_t> a(M * 2 * KP), b(panels * KP * 2 * kGemmPanel, 0);
  for (auto& v : a) v = bf16(random_floats(1)[0]);
  std::vector<float> want(M * N, 0.0f), got(M * N, 0.0f);
  for (int64_t j = 0; j < N; ++j)
    for (int64_t p = 0; p < 2 * KP; ++p) {
      const uint16_t w = bf16(random_floats(1)[0]);
      b[(j / kGemmPanel) * KP * 2 * kGemmPanel + ((p / 2) * kGemmPanel + j % kGemmPanel) * 2 + p % 2] = w;
      for (int64_t i = 0; i < M; ++i) {
        uint32_t x = static_cast<uint32_t>(a[i * 2 * KP + p]) << 16, y = static_cast<uint32_t>(w) << 16;
        float fx, fy;
        std::memcpy(&fx, &x, 4);
        std::memcpy(&fy, &y, 4);
        want[i * N + j] += fx * fy;
      }
    }
  ref.gemm_panels_bf16(a.data(), 2 * KP, M, KP, b.data(), N, got.data(), N, true);
  check(close(got, want, 1e-5f, 0.1f), "gemm_panels_bf16 [generic] against float32 products of the bf16 values");
}

// Wᵀ's gemm_panels_bf16 panels for W [n][ldw] (k values a row, given as bf16): the pair (W[j][2q], W[j][2q + 1])
// at [j / 32][q][j % 32].
std::vector<uint16_t> panels_of_rows(const uint16_t* w, int64_t ldw, int64_t n, int64_t k) {
  const int64_t kp = k / 2;
  std::vector<uint16_t> b((n + kGemmPanel - 1) / kGemmPanel * kp * 2 * kGemmPanel, 0);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t p = 0; p < k; ++p)
      b[(j / kGemmPanel) * kp * 2 * kGemmPanel + ((p / 2) * kGemmPanel + j % kGemmPanel) * 2 + p % 2] = w[j * ldw + p];
  return b;
}

// A product through W's rows (product(y, ldc, accumulate) writes c's columns [0, n)) against the reference's
// gemm_panels_bf16 of `a` (m rows lda apart, 2 · kp values) through W's panels `b`, in both accumulate
// modes (c's old values never read when not accumulating); c's padding past n untouched.
template <class Product>
void check_rows_product(const KernelTable& ref, const std::vector<uint16_t>& a, int64_t lda, int64_t m, int64_t kp,
                        const std::vector<uint16_t>& b, int64_t n, const std::string& name, const char* isa,
                        const Product& product) {
  const int64_t ldc = n + 3;
  for (const bool accumulate : {true, false}) {
    const auto c0 = random_floats(m * ldc);
    std::vector<float> x = c0, y = c0;
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          x[i * ldc + j] = 0.0f;
          y[i * ldc + j] = std::numeric_limits<float>::quiet_NaN();
        }
    ref.gemm_panels_bf16(a.data(), lda, m, kp, b.data(), n, x.data(), ldc, true);
    product(y.data(), ldc, accumulate);
    const std::string what = accumulate ? name : name + " (c =)";
    check(close(y, x, 1e-5f, 0.1f), shape(what.c_str(), isa, m, n, 2 * kp));
    bool untouched = true;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = n; j < ldc; ++j) untouched = untouched && y[i * ldc + j] == c0[i * ldc + j];
    check(untouched, shape((what + " leaves c's padding").c_str(), isa, m, n, 2 * kp));
  }
}

// gemm_rows_bf16 (the paths that have it): the product through W's rows, `a` and W with row strides past
// their values.
void test_gemm_rows_bf16(const KernelTable& ref, const KernelTable& isa) {
  if (isa.gemm_rows_bf16 == nullptr) return;
  struct Shape {
    int64_t M, N, KP;
  };
  std::vector<Shape> shapes;
  for (int64_t M : {1, 5, 16, 31, 33, 70})
    for (int64_t N : {1, 9, 32, 45, 70})
      for (int64_t KP : {1, 7, 16, 64, 129}) shapes.push_back({M, N, KP});
  shapes.push_back({33, 130, 2100});  // deep enough that W's rows come in several blocks of panels
  for (const auto& [M, N, KP] : shapes) {
    const int64_t k = 2 * KP, lda = k + 2, ldw = k + 6;
    std::vector<uint16_t> a(M * lda), w(N * ldw);
    const auto af = random_floats(a.size()), wf = random_floats(w.size(), 0.1f);
    for (size_t i = 0; i < a.size(); ++i) a[i] = bf16(af[i]);
    for (size_t i = 0; i < w.size(); ++i) w[i] = bf16(wf[i]);
    check_rows_product(ref, a, lda, M, KP, panels_of_rows(w.data(), ldw, N, k), N, "gemm_rows_bf16", isa.name,
                       [&](float* y, int64_t ldc, bool accumulate) {
                         isa.gemm_rows_bf16(a.data(), lda, M, KP, w.data(), ldw, N, y, ldc, accumulate);
                       });
  }
}

// Quantized weights of the kernels' layouts, built from random bytes and scales.
struct QWeights {
  std::vector<uint8_t> data;
  std::vector<uint16_t> scales;
  QuantizedMatrix m;
};

QWeights random_quantized(int64_t N, int64_t K, bool q4) {
  QWeights w;
  std::uniform_int_distribution<int> byte(0, 255), qv(1, 255);
  w.data.resize(q4 ? N * K / 2 : N * K);
  for (auto& b : w.data) b = static_cast<uint8_t>(q4 ? byte(rng) : qv(rng));  // q8 stays within ±127
  w.scales.resize(N * (K / kQBlock));
  std::uniform_real_distribution<float> s(0.0005f, 0.01f);
  for (auto& v : w.scales) {
    const float f = s(rng);
    // float → half by hand for these small normal values
    uint32_t x;
    std::memcpy(&x, &f, 4);
    v = static_cast<uint16_t>(((((x >> 23) & 0xFF) - 127 + 15) << 10) | ((x & 0x7FFFFF) >> 13));
  }
  w.m.n = N;
  w.m.k = K;
  w.m.data = w.data.data();
  w.m.block_scale = w.scales.data();
  return w;
}

// Dequantized values (training's products with the transposed weight) are the same from the plain
// layout and from the ISA's tiles, on a window of rows and whole blocks of columns.
void test_dequantize(const KernelTable& ref, const KernelTable& isa, const QWeights& w, bool q4) {
  const int64_t N = w.m.n, K = w.m.k, r0 = N / 3, c0 = K > kQBlock ? kQBlock : 0;
  std::vector<float> a((N - r0) * (K - c0)), b(a.size(), -1.0f);
  ref.dequantize(w.m, q4, r0, N, c0, K, a.data());
  QuantizedMatrix m = w.m;
  std::vector<uint8_t> packed;
  if (isa.repack != nullptr) {
    packed.resize(packed_bytes(isa, q4, N, K));
    isa.repack(w.m, q4, packed.data());
    m.packed = packed.data();
  }
  isa.dequantize(m, q4, r0, N, c0, K, b.data());
  check(a == b, shape(q4 ? "dequantize q4" : "dequantize q8", isa.name, 1, N, K));
}

void test_quantized(const KernelTable& ref, const KernelTable& isa) {
  for (int64_t K : {32, 64, 96, 160, 1056}) {
    for (int64_t T : {1, 2, 3, 5, 6, 9, 13, 16, 17, 35, 67}) {
      const auto x = random_floats(T * K);
      QuantizedActivations qa, qb;
      qa.resize(T, K);
      qb.resize(T, K);
      for (int64_t t = 0; t < T; ++t) {
        ref.quantize_row_q8(x.data() + t * K, t, &qa);
        isa.quantize_row_q8(x.data() + t * K, t, &qb);
      }
      check(qa.q == qb.q && qa.scale == qb.scale, shape("quantize_row_q8", isa.name, T, 0, K));
      // and what the products read beside the quants, bit for bit (K = 96, 160: a half chunk at the end)
      check(qa.abs_q == qb.abs_q && qa.lane_sum == qb.lane_sum && qa.block_isum == qb.block_isum &&
                qa.block_sum == qb.block_sum && qa.total_sum == qb.total_sum && qa.scale_x16 == qb.scale_x16,
            shape("quantize_row_q8 sums", isa.name, T, 0, K));
      for (int64_t N : {1, 5, 9, 19, 37, 70, 130}) {
        for (bool q4 : {false, true}) {
          const QWeights w = random_quantized(N, K, q4);
          std::vector<float> a(T * N), b(T * N);
          (q4 ? ref.gemm_q4 : ref.gemm_q8)(qa, w.m, 0, N, a.data(), N);
          (q4 ? isa.gemm_q4 : isa.gemm_q8)(qa, w.m, 0, N / 3, b.data(), N);
          (q4 ? isa.gemm_q4 : isa.gemm_q8)(qa, w.m, N / 3, N, b.data(), N);
          check(close(b, a, 1e-5f, 1.0f), shape(q4 ? "gemm_q4" : "gemm_q8", isa.name, T, N, K));
          if (isa.repack != nullptr) {  // the ISA's own tiles, on row ranges that split a tile group
            std::vector<uint8_t> packed(packed_bytes(isa, q4, N, K));
            isa.repack(w.m, q4, packed.data());
            QuantizedMatrix pm = w.m;
            pm.packed = packed.data();
            std::vector<float> c(T * N, -1.0f);
            const int64_t split = N > isa.pack_rows ? isa.pack_rows : N;
            (q4 ? isa.gemm_q4 : isa.gemm_q8)(qa, pm, 0, split, c.data(), N);
            (q4 ? isa.gemm_q4 : isa.gemm_q8)(qa, pm, split, N, c.data(), N);
            check(close(c, a, 1e-5f, 1.0f), shape(q4 ? "packed gemm_q4" : "packed gemm_q8", isa.name, T, N, K));
            // each token's outputs bit for bit as when it is alone (the decode GEMV against the batched tiles)
            bool alone = true;
            std::vector<float> one(N);
            for (int64_t t = 0; t < T && T > 1; ++t) {
              QuantizedActivations q1;
              q1.resize(1, K);
              ref.quantize_row_q8(x.data() + t * K, 0, &q1);
              (q4 ? isa.gemm_q4 : isa.gemm_q8)(q1, pm, 0, N, one.data(), N);
              alone = alone && std::memcmp(one.data(), c.data() + t * N, N * sizeof(float)) == 0;
            }
            check(alone,
                  shape(q4 ? "packed gemm_q4 batch-invariant" : "packed gemm_q8 batch-invariant", isa.name, T, N, K));
          }
          if (T == 1) test_dequantize(ref, isa, w, q4);
        }
      }
    }
  }
}

// gemm_rows_quantized_bf16 (the paths that have it): the product through a q8/q4 weight's tiles, in two
// row ranges split at a tile group, against the dequantized weight's values rounded to bf16.
void test_gemm_rows_quantized_bf16(const KernelTable& ref, const KernelTable& isa) {
  if (isa.gemm_rows_quantized_bf16 == nullptr) return;
  for (const bool q4 : {false, true})
    for (int64_t M : {1, 5, 33, 70})
      for (int64_t N : {1, 9, 16, 45, 70})
        for (int64_t K : {32, 96, 1056}) {
          const QWeights w = random_quantized(N, K, q4);
          std::vector<uint8_t> packed(packed_bytes(isa, q4, N, K));
          isa.repack(w.m, q4, packed.data());
          QuantizedMatrix pm = w.m;
          pm.packed = packed.data();
          std::vector<float> wf(N * K);
          ref.dequantize(w.m, q4, 0, N, 0, K, wf.data());
          std::vector<uint16_t> wb(N * K), a(M * K);
          for (size_t i = 0; i < wb.size(); ++i) wb[i] = f32_to_bf16(wf[i]);
          const auto af = random_floats(a.size());
          for (size_t i = 0; i < a.size(); ++i) a[i] = bf16(af[i]);
          const int64_t split = N > isa.pack_rows ? isa.pack_rows : N;
          check_rows_product(ref, a, K, M, K / 2, panels_of_rows(wb.data(), K, N, K), N,
                             q4 ? "gemm_rows_quantized_bf16 q4" : "gemm_rows_quantized_bf16 q8", isa.name,
                             [&](float* y, int64_t ldc, bool accumulate) {
                               isa.gemm_rows_quantized_bf16(a.data(), K, M, pm, q4, 0, split, y, ldc, accumulate);
                               isa.gemm_rows_quantized_bf16(a.data(), K, M, pm, q4, split, N, y + split, ldc,
                                                            accumulate);
                             });
        }
}

// fp8 e4m3 weights (as the quantizer writes them: no NaN codes) against float activations.
void test_gemm_fp8(const KernelTable& ref, const KernelTable& isa) {
  for (int64_t T : {1, 2, 5})
    for (int64_t N : {1, 9, 17})
      for (int64_t K : {7, 33, 100, 257}) {
        const auto x = random_floats(T * K);
        const auto wf = random_floats(N * K, 0.1f);
        std::vector<uint8_t> data(N * K);
        std::vector<float> scales(N);
        for (int64_t n = 0; n < N; ++n) quantize_weight_row_fp8(wf.data() + n * K, K, &scales[n], data.data() + n * K);
        QuantizedMatrix m;
        m.n = N;
        m.k = K;
        m.data = data.data();
        m.row_scale = scales.data();
        std::vector<float> a(T * N), b(T * N, -1.0f);
        ref.gemm_fp8(x.data(), T, m, 0, N, a.data(), N);
        isa.gemm_fp8(x.data(), T, m, 0, N / 2, b.data(), N);
        isa.gemm_fp8(x.data(), T, m, N / 2, N, b.data(), N);
        check(close(b, a, 1e-5f, 0.1f), shape("gemm_fp8", isa.name, T, N, K));
      }
}

void test_attention(const KernelTable& ref, const KernelTable& isa) {
  for (int64_t G : {1, 5, 8})
    for (int64_t d : {32, 40, 128})
      for (int64_t n : {1, 31, 33, 100}) {
        const int64_t bt = 32, stride = d * 3;  // positions interleaved with other heads' data
        const int64_t blocks = (n + bt - 1) / bt;
        const auto kmem = random_floats(blocks * bt * stride), vmem = random_floats(blocks * bt * stride);
        const auto q = random_floats(G * d);
        std::vector<const void*> kb(blocks), vb(blocks);
        for (int64_t b = 0; b < blocks; ++b) {
          kb[b] = kmem.data() + b * bt * stride + d;
          vb[b] = vmem.data() + b * bt * stride + d;
        }
        AttentionArgs args{q.data(), G, d, 1.0f / std::sqrt(static_cast<float>(d)), kb.data(), vb.data(), bt,
                           stride,   0, n};
        std::vector<float> oa(G * d), ma(G), la(G), ob(G * d), mb(G), lb(G);
        ref.attention(args, {oa.data(), ma.data(), la.data()});
        isa.attention(args, {ob.data(), mb.data(), lb.data()});
        for (int64_t h = 0; h < G; ++h)
          for (int64_t i = 0; i < d; ++i) {
            oa[h * d + i] /= la[h];
            ob[h * d + i] /= lb[h];
          }
        check(close(ob, oa, 1e-5f), "attention [" + std::string(isa.name) + "] G=" + std::to_string(G) +
                                        " d=" + std::to_string(d) + " n=" + std::to_string(n));
      }
}

// Reduced-precision KV caches: the kernel widens bf16 and int8 rows itself; it must give what the
// float kernel gives on the same values widened beforehand, on every ISA.
void test_attention_reduced_kv(const KernelTable& ref, const KernelTable& isa) {
  for (int32_t kv_type : {1, 2})
    for (int64_t d : {32, 128})
      for (int64_t n : {1, 33, 100}) {
        const int64_t G = 4, bt = 32, stride = d * 2, blocks = (n + bt - 1) / bt;
        const auto kf = random_floats(blocks * bt * stride), vf = random_floats(blocks * bt * stride);
        const auto q = random_floats(G * d);
        std::vector<uint16_t> k16(kf.size()), v16(vf.size());
        std::vector<int8_t> k8(kf.size()), v8(vf.size());
        std::vector<float> kscale(blocks * bt * 2), vscale(blocks * bt * 2);
        std::vector<float> kw(kf.size()), vw(vf.size());  // the widened values, as the float reference
        for (size_t i = 0; i < kf.size(); ++i) {
          uint32_t kb, vb;
          std::memcpy(&kb, &kf[i], 4);
          std::memcpy(&vb, &vf[i], 4);
          k16[i] = static_cast<uint16_t>(kb >> 16);
          v16[i] = static_cast<uint16_t>(vb >> 16);
          k8[i] = static_cast<int8_t>(static_cast<int>(kf[i] * 100) % 127);
          v8[i] = static_cast<int8_t>(static_cast<int>(vf[i] * 100) % 127);
        }
        for (size_t p = 0; p < kscale.size(); ++p) {
          kscale[p] = 0.01f + 0.001f * static_cast<float>(p % 7);
          vscale[p] = 0.02f + 0.001f * static_cast<float>(p % 5);
        }
        for (int64_t pos = 0; pos < blocks * bt; ++pos)
          for (int64_t i = 0; i < stride; ++i) {
            const int64_t at = pos * stride + i;
            if (kv_type == 1) {
              const uint32_t kb = static_cast<uint32_t>(k16[at]) << 16, vb = static_cast<uint32_t>(v16[at]) << 16;
              std::memcpy(&kw[at], &kb, 4);
              std::memcpy(&vw[at], &vb, 4);
            } else {  // two heads per position: this test attends over the second (offset d, scale 1)
              kw[at] = static_cast<float>(k8[at]) * kscale[pos * 2 + i / d];
              vw[at] = static_cast<float>(v8[at]) * vscale[pos * 2 + i / d];
            }
          }
        std::vector<const void*> kb(blocks), vb(blocks), kd(blocks), vd(blocks);
        std::vector<const float*> ks(blocks), vs(blocks);
        for (int64_t b = 0; b < blocks; ++b) {
          kb[b] = kw.data() + b * bt * stride + d;
          vb[b] = vw.data() + b * bt * stride + d;
          kd[b] = kv_type == 1 ? static_cast<const void*>(k16.data() + b * bt * stride + d)
                               : k8.data() + b * bt * stride + d;
          vd[b] = kv_type == 1 ? static_cast<const void*>(v16.data() + b * bt * stride + d)
                               : v8.data() + b * bt * stride + d;
          ks[b] = kscale.data() + b * bt * 2 + 1;
          vs[b] = vscale.data() + b * bt * 2 + 1;
        }
        const float scale = 1.0f / std::sqrt(static_cast<float>(d));
        AttentionArgs widened{q.data(), G, d, scale, kb.data(), vb.data(), bt, stride, 0, n};
        AttentionArgs reduced{q.data(), G, d, scale, kd.data(), vd.data(), bt, stride, 0, n};
        reduced.kv_type = kv_type;
        if (kv_type == 2) {
          reduced.k_scales = ks.data();
          reduced.v_scales = vs.data();
          reduced.scale_stride = 2;
        }
        std::vector<float> oa(G * d), ma(G), la(G), ob(G * d), mb(G), lb(G);
        ref.attention(widened, {oa.data(), ma.data(), la.data()});
        isa.attention(reduced, {ob.data(), mb.data(), lb.data()});
        for (int64_t h = 0; h < G; ++h)
          for (int64_t i = 0; i < d; ++i) {
            oa[h * d + i] /= la[h];
            ob[h * d + i] /= lb[h];
          }
        check(close(ob, oa, 1e-5f), "attention kv_type=" + std::to_string(kv_type) + " [" + std::string(isa.name) +
                                        "] d=" + std::to_string(d) + " n=" + std::to_string(n));
      }
}

// Runs of consecutive query tokens (prefill) with the causal limit, ranges that start inside the
// cache (split-KV, chunked prefill), GQA groups of odd sizes and head dims off the vector widths, in
// each KV precision: the ISA's tiled kernel against the generic one on the same cache.
void test_attention_runs(const KernelTable& ref, const KernelTable& isa) {
  struct Case {
    int64_t G, d, Q, q_pos, begin, end;
  };
  const Case cases[] = {
      {8, 128, 16, 0, 0, 16},      // a prompt's first 16 tokens
      {8, 128, 16, 100, 0, 116},   // a later run of the same prompt
      {5, 128, 7, 40, 0, 47},      // 21B-A3B's group of 5, a run off the tile sizes
      {3, 40, 17, 33, 0, 50},      // head dim off both vector widths
      {1, 36, 9, 70, 0, 79},       // one head per group, d not a multiple of 8
      {2, 64, 33, 0, 0, 33},       // more queries than a key tile
      {8, 128, 16, 200, 96, 216},  // a split that starts inside the cache
      {4, 32, 5, 10, 40, 80},      // a split past every query: nothing visible
      {6, 64, 11, 60, 64, 71},     // a split the first queries cannot see
      {8, 128, 1, 300, 0, 301},    // decode
      {5, 128, 1, 70, 33, 71},     // decode, split-KV
      // Runs that AMX multiplies on tiles (32 rows or more, 64 keys or more, d a multiple of 32):
      {5, 128, 16, 150, 0, 166},     // rows off the tiles' 32, a last block of 38 keys
      {4, 64, 16, 60, 0, 76},        // two depth steps of 32
      {8, 32, 8, 200, 0, 208},       // one depth step, 208 keys
      {8, 128, 16, 100, 40, 116},    // a split that starts inside a cache block
      {1, 64, 100, 100, 128, 200},   // a split the first 28 queries cannot see
      {8, 128, 8, 1100, 0, 1108},    // past 1024 keys: AMX walks them in two spans
      {4, 64, 16, 1500, 100, 1516},  // a split of two spans starting inside the cache
  };
  for (int32_t kv_type : {0, 1, 2})
    for (const Case& c : cases) {
      const int64_t bt = 32, kvh = 2, stride = c.d * kvh, n = c.end;
      const int64_t blocks = (n + bt - 1) / bt;
      const auto kf = random_floats(blocks * bt * stride), vf = random_floats(blocks * bt * stride);
      std::vector<uint16_t> k16(kf.size()), v16(vf.size());
      std::vector<int8_t> k8(kf.size()), v8(vf.size());
      for (size_t i = 0; i < kf.size(); ++i) {
        uint32_t kb, vb;
        std::memcpy(&kb, &kf[i], 4);
        std::memcpy(&vb, &vf[i], 4);
        k16[i] = static_cast<uint16_t>(kb >> 16);
        v16[i] = static_cast<uint16_t>(vb >> 16);
        k8[i] = static_cast<int8_t>(std::lrintf(std::fmax(-127.0f, std::fmin(127.0f, kf[i] * 40))));
        v8[i] = static_cast<int8_t>(std::lrintf(std::fmax(-127.0f, std::fmin(127.0f, vf[i] * 40))));
      }
      std::vector<float> kscale(blocks * bt * kvh), vscale(blocks * bt * kvh);
      for (size_t p = 0; p < kscale.size(); ++p) {
        kscale[p] = 0.02f + 0.001f * static_cast<float>(p % 7);
        vscale[p] = 0.03f + 0.001f * static_cast<float>(p % 5);
      }
      const size_t esize = kv_type == 0 ? 4 : kv_type == 1 ? 2 : 1;
      const uint8_t* kbase = kv_type == 0   ? reinterpret_cast<const uint8_t*>(kf.data())
                             : kv_type == 1 ? reinterpret_cast<const uint8_t*>(k16.data())
                                            : reinterpret_cast<const uint8_t*>(k8.data());
      const uint8_t* vbase = kv_type == 0   ? reinterpret_cast<const uint8_t*>(vf.data())
                             : kv_type == 1 ? reinterpret_cast<const uint8_t*>(v16.data())
                                            : reinterpret_cast<const uint8_t*>(v8.data());
      std::vector<const void*> kb(blocks), vb(blocks);
      std::vector<const float*> ks(blocks), vs(blocks);
      for (int64_t b = 0; b < blocks; ++b) {  // the second KV head of each position
        kb[b] = kbase + (b * bt * stride + c.d) * esize;
        vb[b] = vbase + (b * bt * stride + c.d) * esize;
        ks[b] = kscale.data() + b * bt * kvh + 1;
        vs[b] = vscale.data() + b * bt * kvh + 1;
      }
      const int64_t qd = c.G * c.d * 2;  // q rows of a token: this group's heads and another group's
      const auto q = random_floats(c.Q * qd);
      AttentionArgs a;
      a.q = q.data() + c.G * c.d;
      a.heads = c.G;
      a.d = c.d;
      a.scale = 1.0f / std::sqrt(static_cast<float>(c.d));
      a.k_blocks = kb.data();
      a.v_blocks = vb.data();
      a.block_tokens = bt;
      a.pos_stride = stride;
      a.begin = c.begin;
      a.end = c.end;
      a.kv_type = kv_type;
      if (kv_type == 2) {
        a.k_scales = ks.data();
        a.v_scales = vs.data();
        a.scale_stride = kvh;
      }
      a.queries = c.Q;
      a.q_stride = qd;
      a.q_pos = c.q_pos;
      const int64_t R = c.Q * c.G;
      std::vector<float> oa(R * c.d), ma(R), la(R), ob(R * c.d, 7.0f), mb(R, 7.0f), lb(R, 7.0f);
      ref.attention(a, {oa.data(), ma.data(), la.data()});
      isa.attention(a, {ob.data(), mb.data(), lb.data()});
      // AMX multiplies bf16 parts of each operand (x = hi + lo within 2⁻¹⁸ of x): its scores, their
      // exponentials' sums and the outputs sit up to ~1e-5 off the float32 kernels' (measured 1e-6 to 1.6e-5).
      const float tol = std::string(isa.name) == "amx" ? 4e-5f : 1e-5f;
      bool same_state = true;
      for (int64_t r = 0; r < R; ++r) {
        if ((la[r] == 0) != (lb[r] == 0) || std::fabs(ma[r] - mb[r]) > tol * (1 + std::fabs(ma[r])) ||
            std::fabs(la[r] - lb[r]) > tol * la[r])
          same_state = false;
        for (int64_t i = 0; i < c.d; ++i) {
          oa[r * c.d + i] /= la[r] > 0 ? la[r] : 1.0f;
          ob[r * c.d + i] /= lb[r] > 0 ? lb[r] : 1.0f;
        }
      }
      const std::string what = "attention run kv_type=" + std::to_string(kv_type) + " [" + std::string(isa.name) +
                               "] G=" + std::to_string(c.G) + " d=" + std::to_string(c.d) +
                               " Q=" + std::to_string(c.Q) + " q_pos=" + std::to_string(c.q_pos) + " [" +
                               std::to_string(c.begin) + ", " + std::to_string(c.end) + ")";
      check(same_state, what + " m/l");
      check(close(ob, oa, tol), what);
      // The same run asked for its output (o / l) in context rows a wider stride apart, as prefill writes
      // them (on cache lines, which the x86 kernels stream to): the other groups' columns untouched.
      const int64_t os = c.G * c.d + 32;
      aligned_vector<float> on(c.Q * os, 7.0f);
      std::vector<float> mn(R), ln(R);
      isa.attention(a, {on.data(), mn.data(), ln.data(), os, true});
      std::vector<float> rows(R * c.d);
      bool others_untouched = true;
      for (int64_t t = 0; t < c.Q; ++t) {
        std::copy_n(on.begin() + t * os, c.G * c.d, rows.begin() + t * c.G * c.d);
        for (int64_t i = c.G * c.d; i < os; ++i) others_untouched &= on[t * os + i] == 7.0f;
      }
      check(others_untouched, what + " normalised: the rows past the group's untouched");
      check(close(rows, oa, tol), what + " normalised");
    }
}

// Per cache block of a contiguous [positions][d] key and value buffer: its first position's key and value.
void point_blocks(const std::vector<float>& k, const std::vector<float>& v, int64_t block_floats,
                  std::vector<const void*>& kb, std::vector<const void*>& vb) {
  const auto blocks = static_cast<int64_t>(k.size()) / block_floats;
  kb.resize(blocks);
  vb.resize(blocks);
  for (int64_t b = 0; b < blocks; ++b) {
    kb[b] = k.data() + b * block_floats;
    vb[b] = v.data() + b * block_floats;
  }
}

// Scores that climb along the keys (a later key's score up to ~25 above the first's): a kernel that keeps
// its exponentials' base until the max passes it by some margin (AMX's) must rescale what it summed
// before, several times a row.
void test_attention_rising_scores(const KernelTable& ref, const KernelTable& isa) {
  const int64_t G = 8, d = 128, Q = 32, n = 256, bt = 32;
  const auto dir = random_floats(d);
  const auto noise = random_floats(n * d, 0.05f);
  const auto q = random_floats(Q * G * d, 0.05f);
  float norm = 0;
  for (float x : dir) norm += x * x;
  std::vector<float> k(n * d), v = random_floats(n * d);
  std::vector<float> qs(q);
  for (int64_t r = 0; r < Q * G; ++r)  // every row's query along dir, so its score grows with the key's
    for (int64_t i = 0; i < d; ++i) qs[r * d + i] += dir[i] * std::sqrt(static_cast<float>(d)) / norm;
  for (int64_t p = 0; p < n; ++p)
    for (int64_t i = 0; i < d; ++i) k[p * d + i] = dir[i] * (0.15f * static_cast<float>(p)) + noise[p * d + i];
  std::vector<const void*> kb, vb;
  point_blocks(k, v, bt * d, kb, vb);
  AttentionArgs a{qs.data(), G, d, 1.0f / std::sqrt(static_cast<float>(d)), kb.data(), vb.data(), bt, d, 0, n};
  a.queries = Q;
  a.q_stride = G * d;
  a.q_pos = n - Q;
  const int64_t R = Q * G;
  std::vector<float> oa(R * d), ma(R), la(R), ob(R * d), mb(R), lb(R);
  ref.attention(a, {oa.data(), ma.data(), la.data()});
  isa.attention(a, {ob.data(), mb.data(), lb.data()});
  // test_attention_runs' tolerances scaled by the scores' size: the exponentials carry the scores' absolute
  // error, which grows with them (the float32 kernels differ from the reference by over 1e-5 here). A base
  // left unrescaled is off by e^8 or more.
  const float tol = std::string(isa.name) == "amx" ? 4e-5f : 1e-5f;
  bool same_state = true;
  for (int64_t r = 0; r < R; ++r) {
    const float spread = tol * (1 + std::fabs(ma[r]));
    if (std::fabs(ma[r] - mb[r]) > spread || std::fabs(la[r] - lb[r]) > spread * la[r]) same_state = false;
    for (int64_t i = 0; i < d; ++i) {
      oa[r * d + i] /= la[r];
      ob[r * d + i] /= lb[r];
    }
  }
  check(ma[0] > 20.0f, "attention rising scores: the scores rise (max " + std::to_string(ma[0]) + ")");
  check(same_state, "attention rising scores [" + std::string(isa.name) + "] m/l");
  check(close(ob, oa, tol * (1 + ma[0])), "attention rising scores [" + std::string(isa.name) + "]");
}

// Calls that share a reuse tag (a prefill step's runs of one sequence and KV head), in the orders a
// thread may meet them: the latest run first then an earlier one (a prefix of what it laid out), then a
// later one (more keys, past a chunk of 512), then a call of another tag over a changed cache and the
// first tag's again: each as the reference computes it, nothing kept that the call may not see.
void test_attention_reuse(const KernelTable& ref, const KernelTable& isa) {
  const int64_t G = 8, d = 128, Q = 8, n = 700, bt = 32, blocks = (n + bt - 1) / bt, R = Q * G;
  auto k = random_floats(blocks * bt * d), v = random_floats(blocks * bt * d);
  const auto q = random_floats(Q * G * d);
  std::vector<const void*> kb, vb;
  point_blocks(k, v, bt * d, kb, vb);
  struct Call {
    uint64_t reuse;
    int64_t q_pos;
    bool change_cache;  // before the call: every key and value of the cache changes
  };
  const Call calls[] = {{5, 400, false}, {5, 100, false}, {5, 640, false}, {6, 300, true}, {5, 520, false}};
  const float tol = std::string(isa.name) == "amx" ? 4e-5f : 1e-5f;
  for (const Call& c : calls) {
    if (c.change_cache) {
      k = random_floats(k.size());
      v = random_floats(v.size());
      point_blocks(k, v, bt * d, kb, vb);
    }
    AttentionArgs a{q.data(), G, d, 1.0f / std::sqrt(static_cast<float>(d)), kb.data(), vb.data(), bt, d, 0, n};
    a.queries = Q;
    a.q_stride = G * d;
    a.q_pos = c.q_pos;
    a.reuse = c.reuse;
    std::vector<float> oa(R * d), ma(R), la(R), ob(R * d), mb(R), lb(R);
    ref.attention(a, {oa.data(), ma.data(), la.data(), 0, true});
    isa.attention(a, {ob.data(), mb.data(), lb.data(), 0, true});
    check(close(ob, oa, tol), "attention reuse [" + std::string(isa.name) + "] tag " + std::to_string(c.reuse) +
                                  " q_pos=" + std::to_string(c.q_pos));
  }
}

// The vectorised exp of the x86 attention kernels against std::exp: ~1e-6 relative over the range
// softmax uses, exactly 0 far below it and at -inf.
void test_attention_exp(const KernelTable& isa) {
  std::vector<float> x;
  for (float v = -87.0f; v <= 88.0f; v += 0.01371f) x.push_back(v);
  for (float v : {0.0f, -0.0f, 1e-8f, -1e-8f, 0.5f, -0.5f, 0.34657359f, -0.34657359f, 1.0f, -1.0f}) x.push_back(v);
  std::vector<float> y(x.size());
  isa.exp_f32(x.data(), y.data(), static_cast<int64_t>(x.size()));
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = std::exp(static_cast<double>(x[i]));
    worst = std::fmax(worst, std::fabs(y[i] - e) / e);
  }
  check(worst < 1e-6, "exp [" + std::string(isa.name) + "] worst relative error " + std::to_string(worst));
  float tail[] = {-88.0f, -100.0f, -1e4f, -std::numeric_limits<float>::infinity(), -90.0f};
  isa.exp_f32(tail, tail, 5);  // in place
  check(tail[0] == 0 && tail[1] == 0 && tail[2] == 0 && tail[3] == 0 && tail[4] == 0,
        "exp [" + std::string(isa.name) + "] is 0 below the float range and at -inf");
}

// round_bf16 is f32_to_bf16 bit for bit: ties both ways, the largest finite values (rounding to inf),
// subnormals, zeros, infinities and NaNs, at lengths across the vector width.
void test_round_bf16(const KernelTable& isa) {
  std::vector<float> x = random_floats(1000, 100.0f);
  for (uint32_t u :
       {0x3F808000u, 0x3F818000u, 0x3F80FFFFu, 0x7F7FFFFFu, 0xFF7FFFFFu, 0x00000001u, 0x80008000u, 0x00018000u,
        0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u, 0x7FC00000u, 0x7F800001u, 0xFFFFFFFFu, 0x7FBFFFFFu}) {
    float f;
    std::memcpy(&f, &u, sizeof(f));
    x.push_back(f);
  }
  for (int64_t n : {int64_t{1}, int64_t{15}, int64_t{17}, static_cast<int64_t>(x.size())}) {
    const float* src = x.data() + x.size() - n;
    std::vector<uint16_t> y(n + 1, 0xABCD);
    isa.round_bf16(src, y.data(), n);
    bool same = y[n] == 0xABCD;
    for (int64_t i = 0; i < n; ++i) same = same && y[i] == f32_to_bf16(src[i]);
    check(same, shape("round_bf16", isa.name, 1, 1, n));
  }
  if (isa.split_bf16 == nullptr) return;
  // split_bf16 on finite values, denormals among them (not at the end, so a vector holding one is
  // followed by others): hi as round_bf16, lo the rounded remainder.
  std::vector<float> finite = random_floats(1000, 100.0f);
  for (uint32_t u : {0x00000001u, 0x80008000u, 0x00018000u, 0x007FFFFFu})
    for (size_t at : {size_t{3}, size_t{40}, size_t{517}}) std::memcpy(&finite[at + u % 7], &u, sizeof(float));
  for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{300}, int64_t{1000}}) {
    std::vector<uint16_t> hi(n + 1, 0xABCD), lo(n + 1, 0xABCD);
    isa.split_bf16(finite.data(), hi.data(), lo.data(), n);
    bool same = hi[n] == 0xABCD && lo[n] == 0xABCD;
    for (int64_t i = 0; i < n; ++i)
      same = same && hi[i] == f32_to_bf16(finite[i]) && lo[i] == f32_to_bf16(finite[i] - bf16_to_f32(hi[i]));
    check(same, shape("split_bf16", isa.name, 1, 1, n));
  }
}

void test_vector_ops(const KernelTable& ref, const KernelTable& isa) {
  for (int64_t n : {1, 15, 17, 33, 127}) {
    const auto a = random_floats(n), b = random_floats(n);
    check(std::fabs(ref.dot_f32(a.data(), b.data(), n) - isa.dot_f32(a.data(), b.data(), n)) < 1e-4f,
          shape("dot_f32", isa.name, 1, 1, n));
    std::vector<float> ya = b, yb = b;
    ref.axpy_f32(0.37f, a.data(), ya.data(), n);
    isa.axpy_f32(0.37f, a.data(), yb.data(), n);
    check(close(yb, ya, 1e-6f), shape("axpy_f32", isa.name, 1, 1, n));
  }
  for (int64_t n : {1, 15, 17, 300, 1000}) {  // pieces of 256 crossed
    const auto g = random_floats(n, 8.0f), u = random_floats(n);
    std::vector<float> ya = g, yb = g;
    ref.silu_mul_f32(ya.data(), u.data(), n);
    isa.silu_mul_f32(yb.data(), u.data(), n);
    check(close(yb, ya, 1e-5f), shape("silu_mul_f32", isa.name, 1, 1, n));
    const auto dact = random_floats(n);
    std::vector<float> dga(n), dua(n), dgb(n), dub(n);
    for (int64_t i = 0; i < n; ++i) {  // from the formula, in double
      const double gi = g[i], sig = 1.0 / (1.0 + std::exp(-gi));
      dua[i] = static_cast<float>(dact[i] * gi * sig);
      dga[i] = static_cast<float>(dact[i] * u[i] * sig * (1.0 + gi * (1.0 - sig)));
    }
    isa.silu_mul_grad_f32(g.data(), u.data(), dact.data(), dgb.data(), dub.data(), n);
    check(close(dgb, dga, 1e-5f) && close(dub, dua, 1e-5f), shape("silu_mul_grad_f32", isa.name, 1, 1, n));
  }
  // The softmax passes against plain loops: the largest value exactly (wherever it lies: the lanes and
  // the tail), e^(scale·x − shift) within exp_f32's bound (and the rounding of scale·x, which an FMA may
  // skip), in place, and their sum as the sum of what was written.
  for (int64_t n : {1, 15, 17, 33, 300, 1000, 5001}) {
    for (int64_t at : {int64_t{0}, n / 2, n - 1}) {
      auto x = random_floats(n, 8.0f);
      x[at] = 50.0f + static_cast<float>(at % 3);
      float m = x[0];
      for (float v : x) m = std::max(m, v);
      check(isa.max_f32(x.data(), n) == m, shape("max_f32", isa.name, 1, at, n));
      const float scale = 0.37f, shift = scale * m;
      std::vector<float> y = x;
      const double sum = isa.exp_sum_f32(y.data(), scale, shift, y.data(), n);
      double worst = 0, written = 0, want = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double e = std::exp(static_cast<double>(scale * x[i] - shift));
        worst = std::max(worst, std::fabs(y[i] - e) / e);
        written += y[i];
        want += e;
      }
      check(worst < 5e-6 && std::fabs(sum - written) <= 1e-12 * written && std::fabs(sum - want) <= 5e-6 * want,
            shape("exp_sum_f32", isa.name, 1, at, n));
    }
  }
}

}  // namespace

// WENXIN_ISA: every known path this CPU runs is accepted, any other name is an error naming it.
void test_isa_override() {
  const auto supported = supported_isas();
  auto error_for = [](const char* name) {
    setenv("WENXIN_ISA", name, 1);
    std::string e = isa_override_error();
    unsetenv("WENXIN_ISA");
    return e;
  };
  check(isa_override_error().empty(), "WENXIN_ISA unset is accepted");
  check(error_for("avx9000").find("WENXIN_ISA=avx9000 names no kernel path") == 0, "WENXIN_ISA=avx9000 refused");
  for (Isa isa : known_isas()) {
    const bool runs = std::find(supported.begin(), supported.end(), isa) != supported.end();
    const std::string e = error_for(isa_name(isa));
    check(runs ? e.empty() : e.find("this CPU cannot run the " + std::string(isa_name(isa))) != std::string::npos,
          std::string("WENXIN_ISA=") + isa_name(isa) + (runs ? " accepted" : " refused"));
  }
}

int main() {
  const KernelTable& ref = *kernels_for(Isa::kGeneric);
  test_isa_override();
  std::vector<const KernelTable*> tables;
  for (Isa isa : supported_isas()) tables.push_back(kernels_for(isa));
#if defined(WENXIN_TEST_VNNI_EMULATED)
  if (kernels_for(Isa::kAvx2) != nullptr) tables.push_back(&avx_vnni_emulated::kTable);
#endif
  for (const KernelTable* table : tables) {
    const KernelTable& k = *table;
    const int before = passed + failed;
    test_gemm_float(ref, k);
    test_gemm_panels(ref, k);
    test_gemm_panels_bf16(ref, k.gemm_panels_bf16, k.name);
    test_gemm_rows_bf16(ref, k);
    test_gemm_rows_quantized_bf16(ref, k);
    test_quantized(ref, k);
    test_gemm_fp8(ref, k);
    test_attention(ref, k);
    test_attention_reduced_kv(ref, k);
    test_attention_runs(ref, k);
    test_attention_rising_scores(ref, k);
    test_attention_reuse(ref, k);
    test_attention_exp(k);
    test_vector_ops(ref, k);
    test_round_bf16(k);
    std::printf("%s: %d checks\n", k.name, passed + failed - before);
  }
#if defined(__x86_64__) || defined(_M_X64)
  // AVX-512's bf16 products without vdpbf16ps (what CPUs without AVX-512 BF16 run), wherever AVX-512 runs.
  if (kernels_for(Isa::kAvx512) != nullptr) {
    const int before = passed + failed;
    test_gemm_panels_bf16(ref, avx512::gemm_panels_bf16_widened, "avx512 widened");
    std::printf("avx512 widened bf16: %d checks\n", passed + failed - before);
  }
#endif
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
