#include "core/base/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attnserve::core {
namespace {

int64_t Product(absl::Span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::shared_ptr<void> AllocateAligned(size_t bytes) {
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (p == nullptr) throw std::bad_alloc();
  return std::shared_ptr<void>(p, std::free);
}

}  // namespace

Tensor::Tensor(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)), num_elements_(Product(shape_)) {
  buffer_ = AllocateAligned(num_bytes());
  data_ = buffer_.get();
}

Tensor Tensor::Zeros(DType dtype, std::vector<int64_t> shape) {
  Tensor t(dtype, std::move(shape));
  std::memset(t.data_, 0, t.num_bytes());
  return t;
}

Tensor Tensor::FromFloats(std::vector<int64_t> shape,
                          absl::Span<const float> values) {
  Tensor t(DType::kFP32, std::move(shape));
  std::memcpy(t.data_, values.data(), t.num_bytes());
  return t;
}

Tensor Tensor::View(DType dtype, std::vector<int64_t> shape,
                    std::shared_ptr<void> owner, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.num_elements_ = Product(t.shape_);
  t.buffer_ = std::move(owner);
  t.data_ = data;
  return t;
}

absl::StatusOr<int64_t> Tensor::NumElements(absl::Span<const int64_t> shape,
                                            absl::string_view field,
                                            int64_t max_elements) {
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "[", i, "] is ", shape[i], ", expected a size >= 0"));
    }
    if (shape[i] != 0 && n > max_elements / shape[i]) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " has more than ", max_elements, " elements (the limit)"));
    }
    n *= shape[i];
  }
  return n;
}

Tensor Tensor::Reshape(std::vector<int64_t> shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::To(DType dtype) const {
  Tensor t(dtype, shape_);
  if (dtype == dtype_) {
    std::memcpy(t.data_, data_, num_bytes());
  } else if (dtype == DType::kBF16) {
    FloatToBF16(data<float>(), t.data<BF16>(), num_elements_);
  } else {
    BF16ToFloat(data<BF16>(), t.data<float>(), num_elements_);
  }
  return t;
}

float Tensor::GetFloat(int64_t i) const {
  return dtype_ == DType::kFP32 ? data<float>()[i]
                                : BF16ToFloat(data<BF16>()[i]);
}

}  // namespace attnserve::core
