#include "core/layers/feed_forward.h"

#include "core/base/status_macros.h"

namespace attnserve::core {

absl::Status FeedForward(const PackedLinear& up, const PackedLinear& down,
                         LinearActivation activation, const void* input,
                         EncoderBatch* batch, float* out) {
  const DType compute = batch->compute_dtype();
  RETURN_IF_ERROR(up.Apply(compute, input, batch->tokens(), compute,
                           batch->intermediate(), activation));
  return down.Apply(compute, batch->intermediate(), batch->tokens(),
                    DType::kFP32, out);
}

}  // namespace attnserve::core
