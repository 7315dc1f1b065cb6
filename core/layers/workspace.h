#ifndef ATTNSERVE_CORE_LAYERS_WORKSPACE_H_
#define ATTNSERVE_CORE_LAYERS_WORKSPACE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/base/dtype.h"
#include "core/base/tensor.h"

namespace attnserve::core {

// Memory of an Encode call, carved into 64-byte aligned buffers. A thread
// keeps the memory of its last call (up to kMaxKeptWorkspaceBytes) for the
// next one, so a warm encoder neither allocates nor page-faults activations.
// A larger call gets memory of its own, freed when it returns: one huge batch
// does not pin its memory on the thread for good. 256 MiB holds ~5900
// BERT-base tokens in FP32.
constexpr size_t kMaxKeptWorkspaceBytes = size_t{256} << 20;

class Workspace {
 public:
  // Reserves `bytes`; returns the offset of the buffer from base().
  size_t Reserve(size_t bytes) {
    const size_t offset = size_;
    size_ += (bytes + 63) / 64 * 64;
    return offset;
  }
  // Obtains the memory for everything reserved; call once, after the last
  // Reserve().
  void Allocate();
  template <class T>
  T* At(size_t offset) const {
    return reinterpret_cast<T*>(static_cast<char*>(memory_.get()) + offset);
  }
  Tensor View(DType dtype, std::vector<int64_t> shape, size_t offset) const {
    return Tensor::View(dtype, std::move(shape), memory_, At<void>(offset));
  }

 private:
  size_t size_ = 0;
  std::shared_ptr<void> memory_;
};

// An activation buffer of `rows` rows padded to PaddedRows(rows) (the row
// count PackedLinear::Apply computes), `width` elements of `dtype` each.
struct ActivationRows {
  size_t offset = 0;
  void Reserve(Workspace* workspace, DType dtype, int64_t rows, int64_t width);
  // Zeroes the padding rows (past `rows`), which the matmuls compute and
  // nobody reads: so they never hold NaN from an earlier call.
  void ZeroPadding(const Workspace& workspace, DType dtype, int64_t rows,
                   int64_t width) const;
};

// A buffer for `rows` activations padded to the matmul row count, outside a
// workspace. The real rows are left uninitialised (every user writes them
// first); the padding rows are zero and never read back.
Tensor ActivationBuffer(DType dtype, int64_t rows, int64_t width);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_LAYERS_WORKSPACE_H_
