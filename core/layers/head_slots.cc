#include "core/layers/head_slots.h"

#include <cstring>

#include "core/base/parallel.h"
#include "core/kernels/vector_math.h"

namespace attnserve::core {

void SplitHeads(const void* src, int64_t src_stride, int64_t col0,
                int64_t heads, int64_t head_dim,
                absl::Span<const HeadSlot> slots, DType dtype,
                const std::vector<std::vector<void*>>& dst) {
  const size_t element = DTypeSize(dtype);
  const size_t head_bytes = head_dim * element;
  ParallelFor(int64_t(slots.size()), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const HeadSlot& slot = slots[r];
      for (size_t p = 0; p < dst.size(); ++p) {
        const char* row =
            static_cast<const char*>(src) +
            (r * src_stride + col0 + p * heads * head_dim) * element;
        char* out = static_cast<char*>(dst[p][slot.group]);
        for (int64_t h = 0; h < heads; ++h) {
          std::memcpy(out + (slot.offset + h * slot.head_stride) * element,
                      row + h * head_bytes, head_bytes);
        }
      }
    }
  });
}

// The inverse for attention outputs: head h of row r's slot in
// src[slots[r].group] ([batch, heads, len, head_dim] FP32) goes to columns
// h * head_dim + [0, head_dim) of row r of dst ([rows, heads * head_dim] in
// `dtype`, FP32 or BF16).
void MergeHeads(const std::vector<const float*>& src,
                absl::Span<const HeadSlot> slots, int64_t heads,
                int64_t head_dim, DType dtype, void* dst) {
  const bool bf16 = dtype == DType::kBF16;
  const int64_t width = heads * head_dim;
  ParallelFor(int64_t(slots.size()), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const HeadSlot& slot = slots[r];
      for (int64_t h = 0; h < heads; ++h) {
        const float* s = src[slot.group] + slot.offset + h * slot.head_stride;
        const int64_t d = r * width + h * head_dim;
        if (bf16) {
          ConvertToBF16(s, static_cast<BF16*>(dst) + d, head_dim);
        } else {
          std::memcpy(static_cast<float*>(dst) + d, s,
                      head_dim * sizeof(float));
        }
      }
    }
  });
}

// Slots of a [batch, len] block of rows in one group: row b * len + i.
std::vector<HeadSlot> DenseSlots(int64_t batch, int64_t len, int64_t heads,
                                 int64_t head_dim) {
  std::vector<HeadSlot> slots(batch * len);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < len; ++i) {
      slots[b * len + i] = {0, (b * heads * len + i) * head_dim,
                            len * head_dim};
    }
  }
  return slots;
}

}  // namespace attnserve::core
