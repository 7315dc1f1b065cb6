#ifndef ATTNSERVE_CORE_ATTENTION_ATTENTION_MASK_H_
#define ATTNSERVE_CORE_ATTENTION_ATTENTION_MASK_H_

#include <cstdint>

#include "core/base/tensor.h"

namespace attnserve::core {

// Reads a validated additive mask (rank <= 4, broadcastable to
// [B, H, Sq, Sk]) as if it were the full [B, H, Sq, Sk] tensor.
class AttentionMaskView {
 public:
  // mask: empty, or FP32 broadcastable to [batch, heads, q_len, k_len].
  explicit AttentionMaskView(const Tensor& mask) {
    if (mask.empty()) return;
    data_ = mask.data<float>();
    int64_t stride = 1;
    for (int d = mask.rank() - 1; d >= 0; --d) {
      strides_[4 - mask.rank() + d] = mask.dim(d) == 1 ? 0 : stride;
      stride *= mask.dim(d);
    }
  }

  bool present() const { return data_ != nullptr; }
  // Mask values of query (b, h, i): key j is at Row(b, h, i)[j * key_stride()].
  const float* Row(int64_t b, int64_t h, int64_t i) const {
    return data_ + b * strides_[0] + h * strides_[1] + i * strides_[2];
  }
  // 0 when the mask is broadcast over keys, else 1.
  int64_t key_stride() const { return strides_[3]; }

 private:
  const float* data_ = nullptr;
  int64_t strides_[4] = {0, 0, 0, 0};
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_ATTENTION_ATTENTION_MASK_H_
