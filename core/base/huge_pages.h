#ifndef ATTNSERVE_CORE_BASE_HUGE_PAGES_H_
#define ATTNSERVE_CORE_BASE_HUGE_PAGES_H_

#include <cstddef>
#include <memory>

namespace attnserve::core {

// Uninitialised memory of at least `bytes`, 64-byte aligned, freed when the
// last owner goes. Buffers of 2 MiB or more are 2 MiB aligned, rounded up to
// whole 2 MiB pages and advised for transparent huge pages (MADV_HUGEPAGE;
// the kernels here leave THP at "madvise"): the encoder's weights and
// activations are read in row spans that each sit in another 4 KiB page, and
// with 4 KiB pages those accesses miss the TLB. Throws std::bad_alloc.
std::shared_ptr<void> AllocateHugePageBacked(size_t bytes);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_BASE_HUGE_PAGES_H_
