// A step's per-token work (norms, residual adds, RoPE and the cache writes) spread over the pool a chunk of
// tokens at a time: a prompt's on every thread (run on the caller alone, it left the others waiting), a
// decode step's few tokens inline.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace wenxin::model {

inline constexpr int64_t kTokenGrain = 16;  // tokens a chunk at least: each costs microseconds

template <class Fn>
void for_each_token(ThreadPool& pool, int64_t tokens, const Fn& fn) {
  pool.parallel_for(
      tokens,
      [&](int64_t begin, int64_t end, int) {
        for (int64_t t = begin; t < end; ++t) fn(t);
      },
      kTokenGrain);
}

}  // namespace wenxin::model
