#ifndef ATTNSERVE_CORE_ATTENTION_ROW_ATTENTION_H_
#define ATTNSERVE_CORE_ATTENTION_ROW_ATTENTION_H_

#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "core/attention/attention.h"

namespace attnserve::core {

// Turns one query row's logits over its candidate keys into weights, in place.
//   keys: [n] key index of each candidate   logits: [n], -inf = masked out
// (b, h, i) identify the query row (for sampling).
using RowWeightsFn =
    absl::FunctionRef<void(int64_t b, int64_t h, int64_t i, const int64_t* keys,
                           float* logits, int64_t n)>;

// The shared engine of the row-wise implementations (banded local, top-k):
// visits only the keys a query can see. Work is split into blocks of
// consecutive queries of one (b, h); a block gathers (transposed, as float)
// just the keys its queries can reach: the union of their windows plus the
// Longformer global keys for LOCAL, every key up to the causal / key_lengths
// limit for GLOBAL. A global query (LOCAL, its position is a global position)
// is a block of its own that sees every key. So LOCAL costs
// O(Sq * (window + globals) + globals * Sk) time and memory, not O(Sq * Sk).
// For each query, the logits scale * q.k + mask (+ Gaussian bias for LOCAL)
// of its visible candidates go to `weights_fn`, then out = weights . V.
//   query: [B, H, Sq, D]  key: [B, H, Sk, D]  value: [B, H, Sk, Dv] (FP32 or
//   BF16) out->output: [B, H, Sq, Dv] FP32   out->weights (if requested): [B,
//   H, Sq, Sk] FP32
absl::Status RunRowAttention(const AttentionSpec& spec,
                             const AttentionInputs& in, RowWeightsFn weights_fn,
                             AttentionOutputs* out);

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_ATTENTION_ROW_ATTENTION_H_
