#ifndef ATTNSERVE_CORE_ATTENTION_REFERENCE_ATTENTION_H_
#define ATTNSERVE_CORE_ATTENTION_REFERENCE_ATTENTION_H_

#include "core/attention/attention.h"

namespace attnserve::core {

// Plain loops over every (b, h, query, key), double accumulation; handles
// every spec. Written straight from CONTRACT.md §4/§8 and shares nothing with
// the fast implementations except GumbelNoise (sampling must draw the same
// numbers everywhere). BF16 compute means q, k, v were rounded to BF16 before
// Run; the arithmetic here is the same.
class ReferenceAttention : public AttentionImplementation {
 public:
  absl::string_view name() const override { return "reference"; }
  bool Supports(const AttentionSpec&, const AttentionInputs&) const override {
    return true;
  }
  absl::Status Run(const AttentionSpec& spec, const AttentionInputs& in,
                   AttentionOutputs* out) const override;
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_ATTENTION_REFERENCE_ATTENTION_H_
