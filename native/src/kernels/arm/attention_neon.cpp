// Online-softmax attention for AArch64 (base NEON): one GQA head group against a range of cached
// positions, in tiles of 32 positions. Per tile: every head's scores (4-accumulator NEON dots over
// rows widened once per tile for bf16/int8 caches), the tile's max, a vectorised exp, then the
// value rows streamed once into every head's output. Decode attention reads each cached K/V row
// once per head group, so it is bound by the cache's bytes, as the GEMMs are by the weights'.
#include <arm_neon.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/arm/neon.h"
#include "kernels/exp_poly.h"

namespace wenxin::kernels::neon {

namespace {

constexpr int64_t kTile = 32;

// e^x (exp_poly.h) for x <= 88 (scores minus their running max are <= 0), 2^n built in the exponent bits;
// inputs below kMin (and -inf) give 0.
inline float32x4_t exp_v(float32x4_t x) {
  using namespace exp_poly;
  const float32x4_t lo = vdupq_n_f32(kMin);
  const uint32x4_t underflow = vcltq_f32(x, lo);
  x = vmaxq_f32(x, lo);
  const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, kLog2e));
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(kLn2Hi));
  r = vfmsq_f32(r, n, vdupq_n_f32(kLn2Lo));
  float32x4_t p = vdupq_n_f32(kP[0]);
  for (int i = 1; i < kDegree; ++i) p = vfmaq_f32(vdupq_n_f32(kP[i]), p, r);
  p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  const float32x4_t out = vmulq_f32(p, vreinterpretq_f32_s32(e));
  return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(out), underflow));
}

// One cached row of a bf16 (kv_type 1) or int8 (2) cache, widened to float.
void widen(const AttentionArgs& a, const void* block, const float* scales, int64_t slot, float* out) {
  const int64_t d = a.d;
  int64_t i = 0;
  if (a.kv_type == 1) {
    const uint16_t* src = static_cast<const uint16_t*>(block) + slot * a.pos_stride;
    for (; i + 8 <= d; i += 8) {
      const uint16x8_t h = vld1q_u16(src + i);
      vst1q_f32(out + i, vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16)));
      vst1q_f32(out + i + 4, vreinterpretq_f32_u32(vshll_high_n_u16(h, 16)));
    }
    for (; i < d; ++i) {
      const uint32_t bits = static_cast<uint32_t>(src[i]) << 16;
      std::memcpy(out + i, &bits, 4);
    }
  } else {
    const int8_t* src = static_cast<const int8_t*>(block) + slot * a.pos_stride;
    const float s = scales[slot * a.scale_stride];
    for (; i + 8 <= d; i += 8) {
      const int16x8_t h = vmovl_s8(vld1_s8(src + i));
      vst1q_f32(out + i, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(h))), s));
      vst1q_f32(out + i + 4, vmulq_n_f32(vcvtq_f32_s32(vmovl_high_s16(h)), s));
    }
    for (; i < d; ++i) out[i] = static_cast<float>(src[i]) * s;
  }
}

// One query token over [a.begin, a.end).
void attention_one(const AttentionArgs& a, const AttentionPartial& out) {
  const int64_t H = a.heads, d = a.d;
  thread_local std::vector<float> scratch;
  scratch.resize(static_cast<size_t>(H * kTile + (a.kv_type != 0 ? 2 * kTile * d : 0)));
  float* s = scratch.data();  // scores [H][kTile]
  float* kw = s + H * kTile;  // widened key and value rows of a reduced-precision cache
  float* vw = kw + kTile * d;
  for (int64_t h = 0; h < H; ++h) {
    out.m[h] = -std::numeric_limits<float>::infinity();
    out.l[h] = 0;
    std::memset(out.o + h * d, 0, d * sizeof(float));
  }
  const float* kr[kTile];
  const float* vr[kTile];
  int64_t blk = a.begin / a.block_tokens, slot = a.begin % a.block_tokens;
  for (int64_t j0 = a.begin; j0 < a.end; j0 += kTile) {
    const int64_t n = (a.end - j0) < kTile ? (a.end - j0) : kTile;
    for (int64_t jj = 0; jj < n; ++jj) {
      if (a.kv_type == 0) {
        kr[jj] = static_cast<const float*>(a.k_blocks[blk]) + slot * a.pos_stride;
        vr[jj] = static_cast<const float*>(a.v_blocks[blk]) + slot * a.pos_stride;
      } else {
        widen(a, a.k_blocks[blk], a.k_scales ? a.k_scales[blk] : nullptr, slot, kw + jj * d);
        widen(a, a.v_blocks[blk], a.v_scales ? a.v_scales[blk] : nullptr, slot, vw + jj * d);
        kr[jj] = kw + jj * d;
        vr[jj] = vw + jj * d;
      }
      if (++slot == a.block_tokens) {
        slot = 0;
        ++blk;
      }
    }
    // Scores: each key row is read once for all heads of the group.
    for (int64_t jj = 0; jj < n; ++jj)
      for (int64_t h = 0; h < H; ++h) s[h * kTile + jj] = dot(a.q + h * d, kr[jj], d) * a.scale;
    for (int64_t h = 0; h < H; ++h) {
      float* sh = s + h * kTile;
      int64_t jj = 0;
      float32x4_t mv = vdupq_n_f32(out.m[h]);
      for (; jj + 4 <= n; jj += 4) mv = vmaxq_f32(mv, vld1q_f32(sh + jj));
      float mx = vmaxvq_f32(mv);
      for (; jj < n; ++jj) mx = sh[jj] > mx ? sh[jj] : mx;
      const float correction = std::exp(out.m[h] - mx);  // exp(-inf) = 0 on the first tile
      const float32x4_t mxv = vdupq_n_f32(mx);
      float32x4_t sumv = vdupq_n_f32(0.0f);
      jj = 0;
      for (; jj + 4 <= n; jj += 4) {
        const float32x4_t p = exp_v(vsubq_f32(vld1q_f32(sh + jj), mxv));
        vst1q_f32(sh + jj, p);
        sumv = vaddq_f32(sumv, p);
      }
      float sum = vaddvq_f32(sumv);
      for (; jj < n; ++jj) {
        sh[jj] = std::exp(sh[jj] - mx);
        sum += sh[jj];
      }
      out.l[h] = out.l[h] * correction + sum;
      out.m[h] = mx;
      if (correction != 1.0f) {
        float* o = out.o + h * d;
        int64_t i = 0;
        for (; i + 4 <= d; i += 4) vst1q_f32(o + i, vmulq_n_f32(vld1q_f32(o + i), correction));
        for (; i < d; ++i) o[i] *= correction;
      }
    }
    // Values: each row streamed once into every head's output.
    for (int64_t jj = 0; jj < n; ++jj)
      for (int64_t h = 0; h < H; ++h) axpy(s[h * kTile + jj], vr[jj], out.o + h * d, d);
  }
}

}  // namespace

// A run of consecutive query tokens (prefill): each token attends causally up to its own position.
void attention(const AttentionArgs& a, const AttentionPartial& out) {
  const int64_t H = a.heads, d = a.d;
  for (int64_t i = 0; i < a.queries; ++i) {
    AttentionArgs one = a;
    one.queries = 1;
    one.q = a.q + i * a.q_stride;
    one.end = a.q_pos + i + 1 < a.end ? a.q_pos + i + 1 : a.end;
    if (one.end < one.begin) one.end = one.begin;
    float* o = out.row(i * H, H, d);
    attention_one(one, {o, out.m + i * H, out.l + i * H});
    if (out.normalised)
      for (int64_t h = 0; h < H; ++h) {
        const float inv = out.l[i * H + h] > 0 ? 1.0f / out.l[i * H + h] : 0.0f;
        for (int64_t x = 0; x < d; ++x) o[h * d + x] *= inv;
      }
  }
}

void exp_f32(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, exp_v(vld1q_f32(x + i)));
  if (i < n) {
    float in[4] = {0, 0, 0, 0}, out[4];
    for (int64_t j = i; j < n; ++j) in[j - i] = x[j];
    vst1q_f32(out, exp_v(vld1q_f32(in)));
    for (int64_t j = i; j < n; ++j) y[j] = out[j - i];
  }
}

}  // namespace wenxin::kernels::neon
