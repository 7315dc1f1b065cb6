#ifndef ATTNSERVE_CORE_ATTENTION_TOP_K_ATTENTION_H_
#define ATTNSERVE_CORE_ATTENTION_TOP_K_ATTENTION_H_

#include "core/attention/attention.h"

namespace attnserve::core {

// HARD attention, GLOBAL or LOCAL: per query, the top_k visible keys by
// logit (ties: lower key index) or, with spec.sample, top_k keys drawn
// without replacement from the soft distribution (Gumbel-top-k with
// GumbelNoise), then a softmax over just those keys. Visits only the keys a
// query can see (RunRowAttention); selection is a partial sort per row.
class TopKAttention : public AttentionImplementation {
 public:
  absl::string_view name() const override { return "top_k"; }
  bool Supports(const AttentionSpec& spec,
                const AttentionInputs& in) const override;
  absl::Status Run(const AttentionSpec& spec, const AttentionInputs& in,
                   AttentionOutputs* out) const override;
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_ATTENTION_TOP_K_ATTENTION_H_
