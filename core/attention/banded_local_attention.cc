#include "core/attention/banded_local_attention.h"

#include "core/attention/row_attention.h"
#include "core/kernels/vector_math.h"

namespace attnserve::core {

bool BandedLocalAttention::Supports(const AttentionSpec& spec,
                                    const AttentionInputs&) const {
  return spec.weighting == AttentionSpec::Weighting::kSoft &&
         spec.scope == AttentionSpec::Scope::kLocal;
}

absl::Status BandedLocalAttention::Run(const AttentionSpec& spec,
                                       const AttentionInputs& in,
                                       AttentionOutputs* out) const {
  return RunRowAttention(
      spec, in,
      [](int64_t, int64_t, int64_t, const int64_t*, float* logits, int64_t n) {
        SoftmaxInPlace(logits, n);
      },
      out);
}

}  // namespace attnserve::core
