#ifndef ATTNSERVE_CORE_ATTENTION_VALIDATE_ATTENTION_H_
#define ATTNSERVE_CORE_ATTENTION_VALIDATE_ATTENTION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "core/attention/attention.h"

namespace attnserve::core {

// Checks spec and shapes; the message names the offending field
// (`spec.top_k`, `query.shape[3]`, `key_lengths[2]`, `mask.shape`).
// The spec alone, for `k_len` keys (top_k, windows, global_positions, sigma,
// scale); ValidateAttention runs it too.
absl::Status ValidateAttentionSpec(const AttentionSpec& spec, int64_t k_len);

// Spec, shapes, dtypes, mask shape and key_lengths: no pass over the values.
absl::Status ValidateAttentionShapes(const AttentionSpec& spec,
                                     const AttentionInputs& in);

// ValidateAttentionShapes, then the values: no NaN or +-Inf in query, key and
// value, no NaN or +Inf in the mask, and magnitudes whose scores and sums
// cannot overflow FP32 inside the kernels.
absl::Status ValidateAttention(const AttentionSpec& spec,
                               const AttentionInputs& in);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_ATTENTION_VALIDATE_ATTENTION_H_
