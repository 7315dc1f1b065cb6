#ifndef ATTNSERVE_CORE_LAYERS_POOLING_H_
#define ATTNSERVE_CORE_LAYERS_POOLING_H_

#include <cstdint>

#include "absl/types/span.h"
#include "core/base/tensor.h"
#include "core/model/pooling_type.h"

namespace attnserve::core {

// Sentence-embedding pooling over a sequence's token states (Pooling:
// model/pooling_type.h).

// hidden: [total_tokens, hidden] FP32   offsets: [n_seq + 1]
// Returns [n_seq, hidden] FP32: the first token (CLS), the mean, the
// element-wise max or the last token of each sequence's tokens.
Tensor Pool(const Tensor& hidden, absl::Span<const int64_t> offsets,
            Pooling pooling);

// rows: [n, d] FP32; each row is scaled to unit L2 norm in place (a zero row
// stays zero).
void L2NormalizeRows(Tensor* rows);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_LAYERS_POOLING_H_
