#include "core/attention/attention.h"

#include <cmath>
#include <cstdint>

#include "absl/status/status.h"
#include "core/attention/attention_list.h"
#include "core/attention/validate_attention.h"
#include "core/base/status_macros.h"

namespace attnserve::core {

float EffectiveScale(const AttentionSpec& spec, int64_t head_dim) {
  return spec.scale != 0 ? spec.scale
                         : 1.0f / std::sqrt(static_cast<float>(head_dim));
}

absl::Status RunAttention(const AttentionImplementation& impl,
                          const AttentionSpec& spec, const AttentionInputs& in,
                          AttentionOutputs* out) {
  const AttentionInputs* run_in = &in;
  AttentionInputs converted;
  if (in.query.dtype() != in.compute_dtype) {
    converted = in;
    converted.query = in.query.To(in.compute_dtype);
    converted.key = in.key.To(in.compute_dtype);
    converted.value = in.value.To(in.compute_dtype);
    run_in = &converted;
  }
  RETURN_IF_ERROR(impl.Run(spec, *run_in, out));
  if (in.output_dtype != DType::kFP32)
    out->output = out->output.To(in.output_dtype);
  return absl::OkStatus();
}

absl::Status Attend(const AttentionSpec& spec, const AttentionInputs& in,
                    AttentionOutputs* out) {
  RETURN_IF_ERROR(ValidateAttention(spec, in));
  return RunAttention(SelectAttentionImplementation(spec, in), spec, in, out);
}

absl::Status AttendUncheckedValues(const AttentionSpec& spec,
                                   const AttentionInputs& in,
                                   AttentionOutputs* out) {
  RETURN_IF_ERROR(ValidateAttentionShapes(spec, in));
  return RunAttention(SelectAttentionImplementation(spec, in), spec, in, out);
}

}  // namespace attnserve::core
