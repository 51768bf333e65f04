#include "formats/ggml_blocks.h"

#include <cstring>

#include "core/dtype.h"

namespace wenxin::ggml {

namespace {

uint16_t u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// Q4_K / Q5_K: 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit min packed into 12 bytes:
// sub-blocks 0-3 use the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); sub-blocks 4-7 take
// their low 4 bits from bytes 8-11 and their top 2 bits from the top bits of bytes 0-3 / 4-7.
void scale_min_k4(int j, const uint8_t* s, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// The multipliers of sub-block j of a Q4_K / Q5_K block with super-scales d and dmin:
// value = scale·q − min.
struct KScale {
  float scale, min;
};
KScale k4_scale(int j, const uint8_t* s, float d, float dmin) {
  int sc, m;
  scale_min_k4(j, s, &sc, &m);
  return {d * static_cast<float>(sc), dmin * static_cast<float>(m)};
}

// Q8_0: fp16 d, 32 × int8.  value = d · q
void dequant_q8_0(const uint8_t* b, float* y) {
  const float d = f16_to_f32(u16(b));
  for (int i = 0; i < 32; ++i) y[i] = d * static_cast<float>(static_cast<int8_t>(b[2 + i]));
}

// Q4_0: fp16 d, 16 bytes; byte j holds element j (low nibble) and j + 16 (high).  value = d · (q - 8)
void dequant_q4_0(const uint8_t* b, float* y) {
  const float d = f16_to_f32(u16(b));
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>((b[2 + j] & 0x0F) - 8);
    y[j + 16] = d * static_cast<float>((b[2 + j] >> 4) - 8);
  }
}

// Q4_K (144 bytes / 256): fp16 d, fp16 dmin, 12 scale bytes, 128 bytes of nibbles. Each 64-element
// group reads 32 bytes: low nibbles are its first sub-block, high nibbles its second.
// value = d·sc·q − dmin·m
void dequant_q4_k(const uint8_t* b, float* y) {
  const float d = f16_to_f32(u16(b)), dmin = f16_to_f32(u16(b + 2));
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  for (int g = 0; g < 4; ++g) {
    const auto [d1, m1] = k4_scale(2 * g, scales, d, dmin);
    const auto [d2, m2] = k4_scale(2 * g + 1, scales, d, dmin);
    for (int l = 0; l < 32; ++l) y[64 * g + l] = d1 * static_cast<float>(q[32 * g + l] & 0x0F) - m1;
    for (int l = 0; l < 32; ++l) y[64 * g + 32 + l] = d2 * static_cast<float>(q[32 * g + l] >> 4) - m2;
  }
}

// Q5_K (176 bytes / 256): as Q4_K plus 32 bytes of fifth bits: bit 2g of qh[l] is the high bit of
// element l of group g's first sub-block, bit 2g + 1 that of its second.
void dequant_q5_k(const uint8_t* b, float* y) {
  const float d = f16_to_f32(u16(b)), dmin = f16_to_f32(u16(b + 2));
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* ql = b + 48;
  for (int g = 0; g < 4; ++g) {
    const auto [d1, m1] = k4_scale(2 * g, scales, d, dmin);
    const auto [d2, m2] = k4_scale(2 * g + 1, scales, d, dmin);
    const int lo_bit = 1 << (2 * g), hi_bit = 1 << (2 * g + 1);
    for (int l = 0; l < 32; ++l) {
      const int q = (ql[32 * g + l] & 0x0F) + ((qh[l] & lo_bit) ? 16 : 0);
      y[64 * g + l] = d1 * static_cast<float>(q) - m1;
    }
    for (int l = 0; l < 32; ++l) {
      const int q = (ql[32 * g + l] >> 4) + ((qh[l] & hi_bit) ? 16 : 0);
      y[64 * g + 32 + l] = d2 * static_cast<float>(q) - m2;
    }
  }
}

// Q6_K (210 bytes / 256): 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8 scales
// (one per 16 elements), fp16 d. Each 128-element half reads 64 low bytes and 32 high bytes:
// element l + 32·i (i = 0..3) takes nibble (i < 2 ? low : high) of ql[l + 32·(i & 1)] and bits
// 2i..2i+1 of qh[l].  value = d · scale · (q − 32)
void dequant_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = f16_to_f32(u16(b + 208));
  for (int half = 0; half < 2; ++half) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

}  // namespace

TypeInfo type_info(uint32_t type) {
  switch (type) {
    case kF32: return {"F32", 1, 4};
    case kF16: return {"F16", 1, 2};
    case kQ4_0: return {"Q4_0", 32, 18};
    case kQ4_1: return {"Q4_1", 32, 20};
    case kQ5_0: return {"Q5_0", 32, 22};
    case kQ5_1: return {"Q5_1", 32, 24};
    case kQ8_0: return {"Q8_0", 32, 34};
    case kQ8_1: return {"Q8_1", 32, 36};
    case kQ2_K: return {"Q2_K", 256, 84};
    case kQ3_K: return {"Q3_K", 256, 110};
    case kQ4_K: return {"Q4_K", 256, 144};
    case kQ5_K: return {"Q5_K", 256, 176};
    case kQ6_K: return {"Q6_K", 256, 210};
    case kQ8_K: return {"Q8_K", 256, 292};
    case 16: return {"IQ2_XXS", 256, 66};
    case 17: return {"IQ2_XS", 256, 74};
    case 18: return {"IQ3_XXS", 256, 98};
    case 19: return {"IQ1_S", 256, 50};
    case 20: return {"IQ4_NL", 32, 18};
    case 21: return {"IQ3_S", 256, 110};
    case 22: return {"IQ2_S", 256, 82};
    case 23: return {"IQ4_XS", 256, 136};
    case 24: return {"I8", 1, 1};
    case 25: return {"I16", 1, 2};
    case 26: return {"I32", 1, 4};
    case 27: return {"I64", 1, 8};
    case 28: return {"F64", 1, 8};
    case 29: return {"IQ1_M", 256, 56};
    case kBF16: return {"BF16", 1, 2};
    case 34: return {"TQ1_0", 256, 54};
    case 35: return {"TQ2_0", 256, 66};
    case 39: return {"MXFP4", 32, 17};
    default: return {nullptr, 0, 0};
  }
}

std::string type_name(uint32_t type) {
  const TypeInfo info = type_info(type);
  return info.name ? info.name : "type " + std::to_string(type);
}

bool readable(uint32_t type) {
  switch (type) {
    case kF32:
    case kF16:
    case kBF16:
    case kQ8_0:
    case kQ4_0:
    case kQ4_K:
    case kQ5_K:
    case kQ6_K: return true;
    default: return false;
  }
}

const char* readable_type_list() { return "F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K"; }

uint64_t row_bytes(uint32_t type, int64_t n) {
  const TypeInfo info = type_info(type);
  if (info.block_elems == 0) return 0;
  return static_cast<uint64_t>(n / info.block_elems) * static_cast<uint64_t>(info.block_bytes);
}

void dequantize_row(uint32_t type, const uint8_t* src, int64_t n, float* dst) {
  switch (type) {
    case kF32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
    case kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(u16(src + 2 * i));
      return;
    case kBF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(u16(src + 2 * i));
      return;
    default: break;
  }
  const TypeInfo info = type_info(type);
  void (*block)(const uint8_t*, float*) = type == kQ8_0   ? dequant_q8_0
                                          : type == kQ4_0 ? dequant_q4_0
                                          : type == kQ4_K ? dequant_q4_k
                                          : type == kQ5_K ? dequant_q5_k
                                          : type == kQ6_K ? dequant_q6_k
                                                          : nullptr;
  if (block == nullptr) {  // callers check readable() first
    std::memset(dst, 0, static_cast<size_t>(n) * 4);
    return;
  }
  for (int64_t b = 0; b < n / info.block_elems; ++b) block(src + b * info.block_bytes, dst + b * info.block_elems);
}

}  // namespace wenxin::ggml
