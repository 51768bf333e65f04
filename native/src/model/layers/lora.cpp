#include "model/layers/lora.h"

#include "kernels/kernels.h"

namespace wenxin::model {

void apply_lora(const std::vector<LoraSlot>& slots, const float* x, int64_t tokens, int64_t in, int64_t out,
                const int32_t* adapters, float* y) {
  if (slots.empty() || adapters == nullptr) return;
  const auto& K = kernels::active_kernels();
  std::vector<float> h;
  for (int64_t t = 0; t < tokens; ++t) {
    if (adapters[t] < 0) continue;
    for (const LoraSlot& s : slots) {
      if (s.adapter != adapters[t]) continue;
      h.resize(s.rank);
      for (int64_t r = 0; r < s.rank; ++r) h[r] = s.scaling * K.dot_f32(s.a.data() + r * in, x + t * in, in);
      for (int64_t n = 0; n < out; ++n) y[t * out + n] += K.dot_f32(s.b.data() + n * s.rank, h.data(), s.rank);
    }
  }
}

}  // namespace wenxin::model
