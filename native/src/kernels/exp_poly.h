// The constants of the vectorised e^x the attention kernels share (AVX2, AVX-512, NEON): e^x = 2^n · e^r
// with n = round(x · log2 e), r = x − n · ln 2 (ln 2 in two parts, the first exact in few bits, so r keeps
// its precision), e^r = 1 + r + r² · p(r) by Cephes' expf polynomial (~2e-7 relative).
#pragma once

namespace wenxin::kernels::exp_poly {

inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
inline constexpr int kDegree = 6;  // p's coefficients, highest degree first (Horner's order)
inline constexpr float kP[kDegree] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                      4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
// Below kMin the result is exactly 0 (e^-inf included; e^kMin is about float's smallest normal); above
// kMax, clamped.
inline constexpr float kMin = -87.3f;
inline constexpr float kMax = 88.0f;

// 2^x for the attention softmaxes, which work in base 2 (log2 e folded into the queries' scale, the max
// converted back on output): 2^x = 2^n · 2^r with n = round(x) and r = x − n exact, 2^r = 1 + r · q(r) by
// Cephes' exp2f polynomial (~2e-7 relative). Two multiplies and a rounding step fewer than e^x.
inline constexpr int kDegree2 = 6;  // q's coefficients, highest degree first
inline constexpr float kQ[kDegree2] = {1.535336188319500e-4f, 1.339887440266574e-3f, 9.618437357674640e-3f,
                                       5.550332471162809e-2f, 2.402264791363012e-1f, 6.931472028550421e-1f};
inline constexpr float kLn2 = 0.693147180559945309f;
// Below kMin2 the result is exactly 0: 2^r · 2^n stays a normal float above it (2^r >= 2^-0.5).
inline constexpr float kMin2 = -125.0f;

}  // namespace wenxin::kernels::exp_poly
