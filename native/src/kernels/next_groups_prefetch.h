// The batched decode of concurrent streams (one token block of a few tokens) reads every weight tile from
// memory, as weights do not stay cached from one step to the next: read by a row-group pair's first tile
// alone, they left it waiting. So each tile of the pair (one per TT tokens) fetches its share of the next
// pair's weights into L2 between its blocks. Prompts' tiles run without the fetches (their later token
// blocks find the weights cached; with fetches in the first, a 512-token prefill took 3% longer on AVX2).
#pragma once

#include <xmmintrin.h>

#include <algorithm>
#include <cstdint>

namespace wenxin::kernels {

struct NextGroupsPrefetch {
  const char* begin = nullptr;
  int64_t lines = 0, per_block = 0;

  // The share of the tile of group pair g (groups g, g + 1) and tokens [t, t + TT) in the token block [0, t1),
  // of `groups` groups of `blocks` blocks of `block_bytes`.
  template <int TT>
  static NextGroupsPrefetch share(const uint8_t* packed, int64_t blocks, int64_t block_bytes, int64_t groups, int64_t g,
                                  int64_t t, int64_t t1) {
    const int64_t group_bytes = blocks * block_bytes, next = std::clamp<int64_t>(groups - g - 2, 0, 2);
    const int64_t total = (next * group_bytes + 63) / 64, calls = (t1 + TT - 1) / TT;
    const int64_t each = (total + calls - 1) / calls, first = t / TT * each;
    const int64_t n = std::clamp<int64_t>(total - first, 0, each);
    return {reinterpret_cast<const char*>(packed + (g + 2) * group_bytes) + first * 64, n, (n + blocks - 1) / blocks};
  }
  void lines_of_block(int64_t b) const {
    for (int64_t l = b * per_block, end = std::min(l + per_block, lines); l < end; ++l)
      _mm_prefetch(begin + 64 * l, _MM_HINT_T1);
  }
};

}  // namespace wenxin::kernels
