#ifndef ATTNSERVE_CORE_BASE_TENSOR_H_
#define ATTNSERVE_CORE_BASE_TENSOR_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/base/dtype.h"

namespace attnserve::core {

// A dense, row-major tensor. Owns a 64-byte aligned buffer shared between
// copies (copies are shallow; Clone() is deep). Reshape() returns a view on
// the same buffer.
class Tensor {
 public:
  Tensor() = default;
  // Allocates (uninitialised) storage for `shape`. Shapes must be validated
  // (non-negative, product fits) before they reach here; see NumElements().
  Tensor(DType dtype, std::vector<int64_t> shape);
  static Tensor Zeros(DType dtype, std::vector<int64_t> shape);
  static Tensor FromFloats(std::vector<int64_t> shape,
                           absl::Span<const float> values);
  // A tensor over `data`, which lies inside the allocation `owner` and has
  // room for `shape` in `dtype`; the view shares ownership of `owner` (no
  // copy). For carving tensors out of a reused workspace.
  static Tensor View(DType dtype, std::vector<int64_t> shape,
                     std::shared_ptr<void> owner, void* data);

  // Product of `shape`, or an error naming `field` when a dimension is
  // negative or the product overflows int64 / exceeds `max_elements`.
  static absl::StatusOr<int64_t> NumElements(absl::Span<const int64_t> shape,
                                             absl::string_view field,
                                             int64_t max_elements);

  bool empty() const { return data_ == nullptr; }
  DType dtype() const { return dtype_; }
  absl::Span<const int64_t> shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[i < 0 ? i + rank() : i]; }
  int64_t num_elements() const { return num_elements_; }
  size_t num_bytes() const { return size_t(num_elements_) * DTypeSize(dtype_); }

  template <class T>
  T* data() {
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* data() const {
    return static_cast<const T*>(data_);
  }
  void* raw_data() { return data_; }
  const void* raw_data() const { return data_; }

  // A view with another shape of the same element count.
  Tensor Reshape(std::vector<int64_t> shape) const;
  // Deep copy converted to `dtype` (a plain copy when it is already `dtype`).
  Tensor To(DType dtype) const;
  Tensor Clone() const { return To(dtype_); }
  // Element i as float, whatever the dtype (slow; for tests and references).
  float GetFloat(int64_t i) const;

 private:
  DType dtype_ = DType::kFP32;
  std::vector<int64_t> shape_;
  int64_t num_elements_ = 0;
  std::shared_ptr<void> buffer_;
  void* data_ = nullptr;
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_BASE_TENSOR_H_
