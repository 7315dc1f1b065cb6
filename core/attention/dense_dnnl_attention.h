#ifndef ATTNSERVE_CORE_ATTENTION_DENSE_DNNL_ATTENTION_H_
#define ATTNSERVE_CORE_ATTENTION_DENSE_DNNL_ATTENTION_H_

#include "core/attention/attention.h"

namespace attnserve::core {

// GLOBAL SOFT attention (any causal / mask / key_lengths) as two oneDNN
// batched matmuls around a vectorised mask-and-softmax pass:
//   S = Q K^T (oneDNN, f32 out) -> P = softmax(scale S + mask) over visible
//   keys (own pass, rows that see nothing become 0) -> O = P V (oneDNN).
// FP32, or BF16 inputs with f32 accumulation (P is rounded to BF16 for P V).
// Heads are processed in groups so the score buffer stays cache-sized.
class DenseDnnlAttention : public AttentionImplementation {
 public:
  absl::string_view name() const override { return "dense_dnnl"; }
  bool Supports(const AttentionSpec& spec,
                const AttentionInputs& in) const override;
  absl::Status Run(const AttentionSpec& spec, const AttentionInputs& in,
                   AttentionOutputs* out) const override;
};

}  // namespace attnserve::core

#endif  // ATTNSERVE_CORE_ATTENTION_DENSE_DNNL_ATTENTION_H_
