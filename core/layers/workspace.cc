#include "core/layers/workspace.h"

#include <algorithm>
#include <cstring>

#include "core/base/huge_pages.h"
#include "core/dnnl/packed_linear.h"

namespace attnserve::core {

void Workspace::Allocate() {
  thread_local std::shared_ptr<void> kept;
  thread_local size_t kept_bytes = 0;
  if (size_ > kMaxKeptWorkspaceBytes) {
    memory_ = AllocateHugePageBacked(size_);
    return;
  }
  if (kept_bytes < size_) {
    kept.reset();
    // Some headroom, so slowly growing batches do not reallocate each call.
    kept_bytes = std::min(kMaxKeptWorkspaceBytes, size_ + size_ / 4);
    kept = AllocateHugePageBacked(kept_bytes);
  }
  memory_ = kept;
}

void ActivationRows::Reserve(Workspace* workspace, DType dtype, int64_t rows,
                             int64_t width) {
  offset = workspace->Reserve(PaddedRows(rows) * width * DTypeSize(dtype));
}

void ActivationRows::ZeroPadding(const Workspace& workspace, DType dtype,
                                 int64_t rows, int64_t width) const {
  const size_t row_bytes = width * DTypeSize(dtype);
  std::memset(workspace.At<char>(offset) + rows * row_bytes, 0,
              (PaddedRows(rows) - rows) * row_bytes);
}

Tensor ActivationBuffer(DType dtype, int64_t rows, int64_t width) {
  Tensor t(dtype, {PaddedRows(rows), width});
  const size_t row_bytes = size_t(width) * DTypeSize(dtype);
  std::memset(static_cast<char*>(t.raw_data()) + rows * row_bytes, 0,
              (t.dim(0) - rows) * row_bytes);
  return t;
}

}  // namespace attnserve::core
