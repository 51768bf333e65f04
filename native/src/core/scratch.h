// Scratch buffers that are written before they are read.
#pragma once

#include <cstddef>
#include <vector>

namespace wenxin {

// v's storage for n elements: v grows to at least n and otherwise keeps its size, so that a buffer
// reused for shorter and longer rows is not zeroed again each time it grows back (std::vector::resize
// value-initialises what it adds, every time).
template <class T, class Allocator>
T* scratch(std::vector<T, Allocator>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

}  // namespace wenxin
