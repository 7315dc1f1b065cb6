#ifndef ATTNSERVE_CORE_BASE_THREAD_SCRATCH_H_
#define ATTNSERVE_CORE_BASE_THREAD_SCRATCH_H_

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

namespace attnserve::core {

// A per-thread, 64-byte aligned buffer of at least n elements that only grows;
// spares the kernels allocating (and page-faulting) their scratch on every
// call. kSlot tells apart buffers of one type used at the same time. The
// contents are unspecified after a call that grows it.
template <class T, int kSlot>
T* ThreadScratch(int64_t n) {
  struct Buffer {
    std::unique_ptr<void, decltype(&std::free)> data{nullptr, &std::free};
    int64_t capacity = 0;
  };
  thread_local Buffer buffer;
  if (buffer.capacity < n) {
    const size_t bytes = (static_cast<size_t>(n) * sizeof(T) + 63) / 64 * 64;
    buffer.data.reset(std::aligned_alloc(64, bytes));
    if (buffer.data == nullptr) throw std::bad_alloc();
    buffer.capacity = n;
  }
  return static_cast<T*>(buffer.data.get());
}

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_BASE_THREAD_SCRATCH_H_
