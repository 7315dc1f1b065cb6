#include "core/base/huge_pages.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <new>

namespace attnserve::core {

std::shared_ptr<void> AllocateHugePageBacked(size_t bytes) {
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t alignment = bytes >= kHugePage ? kHugePage : 64;
  // aligned_alloc needs a size that is a multiple of the alignment.
  const size_t rounded =
      (std::max<size_t>(bytes, 1) + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, rounded);
  if (p == nullptr) throw std::bad_alloc();
  // Advice only: where THP is off the memory stays in 4 KiB pages.
  if (alignment == kHugePage) madvise(p, rounded, MADV_HUGEPAGE);
  return std::shared_ptr<void>(p, std::free);
}

}  // namespace attnserve::core
