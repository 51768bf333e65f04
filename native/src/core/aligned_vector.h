// Vectors whose storage starts on a cache line. A row that straddles two lines costs two: AMX's tile
// loads read 64-byte rows, and from a buffer malloc aligned to 16 bytes the products run at half speed.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace wenxin {

inline constexpr std::size_t kCacheLine = 64;

template <class T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kCacheLine})); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{kCacheLine}); }
  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept {
    return true;
  }
};

template <class T>
using aligned_vector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace wenxin
