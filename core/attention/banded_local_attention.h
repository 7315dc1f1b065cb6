#ifndef ATTNSERVE_CORE_ATTENTION_BANDED_LOCAL_ATTENTION_H_
#define ATTNSERVE_CORE_ATTENTION_BANDED_LOCAL_ATTENTION_H_

#include "core/attention/attention.h"

namespace attnserve::core {

// LOCAL SOFT attention (windows, causal, key_lengths, Longformer globals,
// Gaussian, mask) in O(Sq * (window + globals)) work and memory plus the
// global queries' rows: each query's logits over just the keys in its window
// and the global keys (RunRowAttention), a vectorised softmax, and the
// weighted sum of those values. Parallel over (b, h, query blocks).
class BandedLocalAttention : public AttentionImplementation {
 public:
  absl::string_view name() const override { return "banded_local"; }
  bool Supports(const AttentionSpec& spec,
                const AttentionInputs& in) const override;
  absl::Status Run(const AttentionSpec& spec, const AttentionInputs& in,
                   AttentionOutputs* out) const override;
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_ATTENTION_BANDED_LOCAL_ATTENTION_H_
