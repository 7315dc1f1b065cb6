#include "core/layers/pooling.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace attnserve::core {

Tensor Pool(const Tensor& hidden, absl::Span<const int64_t> offsets,
            Pooling pooling) {
  const int64_t width = hidden.dim(1);
  const int64_t num_seqs = int64_t(offsets.size()) - 1;
  Tensor pooled = Tensor::Zeros(DType::kFP32, {num_seqs, width});
  for (int64_t s = 0; s < num_seqs; ++s) {
    float* o = pooled.data<float>() + s * width;
    const float* first = hidden.data<float>() + offsets[s] * width;
    const int64_t length = offsets[s + 1] - offsets[s];
    if (length <= 0) continue;
    if (pooling == Pooling::kCls) {
      std::memcpy(o, first, width * sizeof(float));
      continue;
    }
    if (pooling == Pooling::kLast) {
      std::memcpy(o, first + (length - 1) * width, width * sizeof(float));
      continue;
    }
    std::memcpy(o, first, width * sizeof(float));
    for (int64_t t = 1; t < length; ++t) {
      const float* row = first + t * width;
      for (int64_t i = 0; i < width; ++i) {
        o[i] =
            pooling == Pooling::kMean ? o[i] + row[i] : std::max(o[i], row[i]);
      }
    }
    if (pooling == Pooling::kMean) {
      for (int64_t i = 0; i < width; ++i) o[i] /= float(length);
    }
  }
  return pooled;
}

void L2NormalizeRows(Tensor* rows) {
  const int64_t width = rows->dim(1);
  for (int64_t r = 0; r < rows->dim(0); ++r) {
    float* row = rows->data<float>() + r * width;
    double squares = 0;
    for (int64_t i = 0; i < width; ++i) squares += double(row[i]) * row[i];
    if (squares == 0) continue;
    const float inv_norm = float(1.0 / std::sqrt(squares));
    for (int64_t i = 0; i < width; ++i) row[i] *= inv_norm;
  }
}

}  // namespace attnserve::core
