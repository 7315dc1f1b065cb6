#include "core/layers/gated_feed_forward.h"

#include "core/base/parallel.h"
#include "core/base/status_macros.h"

namespace attnserve::core {

absl::Status GatedFeedForward(const PackedLinear& up, const PackedLinear& down,
                              GluActivation activation,
                              GluActivatedHalf activated, const void* input,
                              EncoderBatch* batch, float* out) {
  const DType dtype = batch->compute_dtype();
  const int64_t tokens = batch->tokens();
  const int64_t inner = down.in_features();
  // The padding rows too: they are finite (projections of zero rows), and the
  // down projection computes them.
  const int64_t rows = PaddedRows(tokens);
  char* const up_out = static_cast<char*>(batch->intermediate());
  char* const gated = up_out + rows * 2 * inner * sizeof(float);
  RETURN_IF_ERROR(up.Apply(dtype, input, tokens, DType::kFP32, up_out));
  ParallelFor(rows, [&](int64_t begin, int64_t end) {
    if (dtype == DType::kBF16) {
      GatedActivation(
          reinterpret_cast<const float*>(up_out) + begin * 2 * inner, 2 * inner,
          end - begin, inner, activation, activated,
          reinterpret_cast<BF16*>(gated) + begin * inner, inner);
    } else {
      GatedActivation(
          reinterpret_cast<const float*>(up_out) + begin * 2 * inner, 2 * inner,
          end - begin, inner, activation, activated,
          reinterpret_cast<float*>(gated) + begin * inner, inner);
    }
  });
  return down.Apply(dtype, gated, tokens, DType::kFP32, out);
}

}  // namespace attnserve::core
