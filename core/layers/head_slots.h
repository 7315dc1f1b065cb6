#ifndef ATTNSERVE_CORE_LAYERS_HEAD_SLOTS_H_
#define ATTNSERVE_CORE_LAYERS_HEAD_SLOTS_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "core/base/dtype.h"

namespace attnserve::core {

// Where a packed row's heads live in its group's [batch, heads, len,
// head_dim] tensors: row i of batch item b starts at element
// offset = (b * heads * len + i) * head_dim, head h head_stride = len *
// head_dim elements further.
struct HeadSlot {
  int64_t group;
  int64_t offset;
  int64_t head_stride;
};

// src: [rows, src_stride] in `dtype` (FP32 or BF16) with rows =
// slots.size(). For each part p and head h, copies columns
// col0 + (p * heads + h) * head_dim + [0, head_dim) of row r to head h of row
// r's slot in dst[p][slots[r].group], a [batch, heads, len, head_dim] buffer
// in `dtype`.
void SplitHeads(const void* src, int64_t src_stride, int64_t col0,
                int64_t heads, int64_t head_dim,
                absl::Span<const HeadSlot> slots, DType dtype,
                const std::vector<std::vector<void*>>& dst);

// The inverse for attention outputs: head h of row r's slot in
// src[slots[r].group] ([batch, heads, len, head_dim] FP32) goes to columns
// h * head_dim + [0, head_dim) of row r of dst ([rows, heads * head_dim] in
// `dtype`, FP32 or BF16).
void MergeHeads(const std::vector<const float*>& src,
                absl::Span<const HeadSlot> slots, int64_t heads,
                int64_t head_dim, DType dtype, void* dst);

// Slots of a [batch, len] block of rows in one group: row b * len + i.
std::vector<HeadSlot> DenseSlots(int64_t batch, int64_t len, int64_t heads,
                                 int64_t head_dim);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_LAYERS_HEAD_SLOTS_H_
